/**
 * The file form of signed records (node certificates, revocation lists): the envelope bytes in
 * base64 between PEM-style lines, so a file is text that survives copy-paste, mail and `cat`:
 *
 *     -----BEGIN MESH NODE CERTIFICATE-----
 *     <base64, 64 characters a line>
 *     -----END MESH NODE CERTIFICATE-----
 */
import { readFile } from 'node:fs/promises'
import { InvalidFileError, MeshError } from '../../errors.js'
import { errnoCode, fsProblem, writeFileAtomic } from '../home.js'

const LINE = 64
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/

export function armor (label: string, bytes: Uint8Array): string {
  const b64 = Buffer.from(bytes).toString('base64')
  const lines = b64.match(new RegExp(`.{1,${LINE}}`, 'g')) ?? []
  return [`-----BEGIN ${label}-----`, ...lines, `-----END ${label}-----`, ''].join('\n')
}

/** The bytes inside an armored text, or a phrase saying why there are none. */
export function dearmor (label: string, text: string): Uint8Array | string {
  const lines = text.replace(/\r\n/g, '\n').trim().split('\n').map(l => l.trim())
  const what = label.toLowerCase()
  if (lines[0] !== `-----BEGIN ${label}-----`) return `not a ${what} (expected a '-----BEGIN ${label}-----' line)`
  if (lines.at(-1) !== `-----END ${label}-----` || lines.length < 3) return `not a ${what} (truncated: no '-----END ${label}-----' line)`
  const b64 = lines.slice(1, -1).join('')
  if (!BASE64.test(b64) || b64.length % 4 !== 0) return `not a ${what} (the body is not base64)`
  return new Uint8Array(Buffer.from(b64, 'base64'))
}

/** Reads an armored file; every problem is one line naming the file. */
export async function readArmored (path: string, label: string, maxBytes: number): Promise<Uint8Array> {
  let text: string
  try {
    const buf = await readFile(path)
    // base64 and armor lines add about 40%
    if (buf.byteLength > maxBytes * 2) throw new InvalidFileError(path, `${buf.byteLength} bytes is too large for a ${label.toLowerCase()}`)
    text = buf.toString('utf8')
  } catch (err) {
    if (err instanceof MeshError) throw err
    if (errnoCode(err) === 'ENOENT') throw new MeshError(`${path}: no such file`, 1, { cause: err })
    throw new MeshError(`cannot read ${path}: ${fsProblem(err)}`, 1, { cause: err })
  }
  const bytes = dearmor(label, text)
  if (typeof bytes === 'string') throw new InvalidFileError(path, bytes)
  return bytes
}

/** Writes (or replaces) an armored file atomically; certificates are public, so 0644 by default. */
export async function writeArmored (path: string, label: string, bytes: Uint8Array, mode = 0o644): Promise<void> {
  await writeFileAtomic(path, armor(label, bytes), { mode })
}
