/**
 * The swarm key: a libp2p pnet pre-shared key that keeps strangers out of the transport. The file
 * format is the go-ipfs/libp2p one, so keys made by `ipfs-swarm-key-gen` work here and back:
 *
 *     /key/swarm/psk/1.0.0/
 *     /base16/
 *     <64 hex digits>
 *
 * @libp2p/pnet's own decoder reports every problem as "invalid psk", rejects trailing blanks and
 * ignores the header, so we validate here, say exactly what is wrong, and hand it a canonical copy.
 */
import { readFile } from 'node:fs/promises'
import { generateKey } from '@libp2p/pnet'
import { InvalidFileError, MeshError } from '../errors.js'
import { errnoCode, fsProblem, writeFileAtomic } from './home.js'

export const SWARM_KEY_HEADER = '/key/swarm/psk/1.0.0/'
export const SWARM_KEY_ENCODING = '/base16/'
/** 32 bytes of key: 64 hex digits */
const KEY_HEX_DIGITS = 64
/** header + encoding + key + newlines is under 100 bytes; a big file is the wrong file */
const MAX_SWARM_KEY_BYTES = 1024

/** A new key, as the bytes of a swarm.key file (with a final newline, as key generators write it). */
export function generateSwarmKey (): Uint8Array {
  const bytes = new Uint8Array(SWARM_KEY_HEADER.length + SWARM_KEY_ENCODING.length + KEY_HEX_DIGITS + 3)
  generateKey(bytes)
  bytes[bytes.length - 1] = 0x0a
  return bytes
}

/**
 * Validates the bytes of a swarm.key file and returns the canonical form `privateNetwork({ psk })`
 * expects. Accepts CRLF, trailing blanks and blank lines at the end, and upper-case hex.
 */
export function parseSwarmKey (bytes: Uint8Array, path: string): Uint8Array {
  const bad = (problem: string): InvalidFileError => new InvalidFileError(path, `not a valid swarm key: ${problem}`)
  if (bytes.byteLength === 0) throw bad('the file is empty')
  if (bytes.byteLength > MAX_SWARM_KEY_BYTES) throw bad(`${bytes.byteLength} bytes is too large (a swarm key is under 100 bytes)`)
  let text: string
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes)
  } catch {
    throw bad('not text (expected a /key/swarm/psk/1.0.0/ file)')
  }
  const lines = text.replace(/^\uFEFF/, '').split(/\r\n|\n|\r/).map(l => l.trimEnd())
  while (lines.length > 0 && lines.at(-1) === '') lines.pop()

  const [header = '', encoding = '', hex = '', ...rest] = lines
  if (header !== SWARM_KEY_HEADER) throw bad(`line 1 is '${clip(header)}', expected '${SWARM_KEY_HEADER}'`)
  if (encoding === '') throw bad(`line 2 is missing, expected '${SWARM_KEY_ENCODING}'`)
  if (encoding !== SWARM_KEY_ENCODING) {
    throw bad(`line 2: unsupported encoding '${clip(encoding)}' (mesh reads only ${SWARM_KEY_ENCODING} keys)`)
  }
  if (hex === '') throw bad('line 3 (the key) is missing')
  const badChar = /[^0-9a-fA-F]/.exec(hex)
  if (badChar != null) throw bad(`line 3: '${badChar[0]}' at column ${badChar.index + 1} is not a hex digit`)
  if (hex.length !== KEY_HEX_DIGITS) {
    throw bad(`line 3 has ${hex.length} hex digits, expected ${KEY_HEX_DIGITS} (a 32-byte key)`)
  }
  const extra = rest.findIndex(l => l !== '')
  if (extra !== -1) throw bad(`unexpected text on line ${extra + 4}`)
  return new TextEncoder().encode(`${SWARM_KEY_HEADER}\n${SWARM_KEY_ENCODING}\n${hex.toLowerCase()}`)
}

/** The parsed key (ready for `privateNetwork({ psk })`), or undefined when the file does not exist. */
export async function readSwarmKey (path: string): Promise<Uint8Array | undefined> {
  let bytes: Uint8Array
  try {
    bytes = await readFile(path)
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return undefined
    throw new MeshError(`cannot read swarm key ${path}: ${fsProblem(err)}`, 1, { cause: err })
  }
  return parseSwarmKey(bytes, path)
}

/** Copies a swarm key file into a home after checking it, so a bad key is reported at install time. */
export async function installSwarmKey (src: string, dest: string): Promise<void> {
  let bytes: Uint8Array
  try {
    bytes = await readFile(src)
  } catch (err) {
    throw new MeshError(`cannot read swarm key ${src}: ${fsProblem(err)}`, 1, { cause: err })
  }
  parseSwarmKey(bytes, src)
  await writeFileAtomic(dest, bytes, { mode: 0o600 })
}

/** Keeps a message one readable line when the "header" is binary junk or a whole paragraph. */
function clip (s: string): string {
  const printable = s.replace(/[\u0000-\u001f\u007f]/g, '?')
  return printable.length > 40 ? `${printable.slice(0, 40)}…` : printable
}
