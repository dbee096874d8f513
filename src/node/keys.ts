/**
 * The node's identity: one Ed25519 private key in libp2p's protobuf encoding (the same bytes
 * `createLibp2p({ privateKey })` takes), so the peer id survives restarts.
 *
 * A key is never replaced behind the user's back: a lost key means a new peer id, which breaks
 * certificates, bootstrap lists and stored results that name the old one.
 */
import { lstat, readFile, stat } from 'node:fs/promises'
import { generateKeyPair, generateKeyPairFromSeed, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'
import { InvalidFileError, MeshError } from '../errors.js'
import { errnoCode, fsProblem, writeFileAtomic } from './home.js'

/** An Ed25519 key file is 68 bytes; anything much larger is not one (and not worth reading). */
const MAX_KEY_FILE_BYTES = 4096

const CORRUPT = 'not a valid mesh node key (corrupt or truncated); refusing to replace it — move it away or restore it'

export async function createKey (path: string, opts: { force?: boolean } = {}): Promise<PrivateKey> {
  const key = await generateKeyPair('Ed25519')
  const written = await writeFileAtomic(path, privateKeyToProtobuf(key), { mode: 0o600, exclusive: opts.force !== true })
  if (!written) {
    throw new MeshError(`${path} already exists; refusing to overwrite the node key (the peer id would change) — use --force to replace it`)
  }
  return key
}

export async function loadKey (path: string): Promise<PrivateKey> {
  let st
  try {
    st = await stat(path)
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') throw new MeshError(`${path}: no node key (create one with: mesh init)`, 1, { cause: err })
    throw new MeshError(`cannot read node key ${path}: ${fsProblem(err)}`, 1, { cause: err })
  }
  if (!st.isFile()) throw new InvalidFileError(path, 'not a regular file; expected a mesh node key')
  // like ssh: a private key others can read is no longer private, so say so instead of using it
  const perms = st.mode & 0o777
  if ((perms & 0o077) !== 0) {
    throw new InvalidFileError(path, `permissions ${perms.toString(8).padStart(4, '0')} are too open; run chmod 600 ${path}`)
  }
  if (st.size > MAX_KEY_FILE_BYTES) throw new InvalidFileError(path, CORRUPT)

  let bytes: Uint8Array
  try {
    bytes = await readFile(path)
  } catch (err) {
    throw new MeshError(`cannot read node key ${path}: ${fsProblem(err)}`, 1, { cause: err })
  }
  return await decodeKey(bytes, path)
}

/**
 * Creates the key only when no file is there. Anything present (corrupt, wrong mode, a dangling
 * link) is reported by loadKey, never replaced.
 */
export async function loadOrCreateKey (path: string): Promise<{ key: PrivateKey, created: boolean }> {
  if (!await present(path)) {
    try {
      return { key: await createKey(path), created: true }
    } catch (err) {
      // another process created it between our check and our write: use theirs
      if (!await present(path)) throw err
    }
  }
  return { key: await loadKey(path), created: false }
}

async function present (path: string): Promise<boolean> {
  try {
    await lstat(path)
    return true
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return false
    throw new MeshError(`cannot read node key ${path}: ${fsProblem(err)}`, 1, { cause: err })
  }
}

/**
 * Accepts only a canonical Ed25519 key: the protobuf must decode, re-encode to the same bytes
 * (catches trailing garbage) and its public half must match its seed (catches a flipped bit the
 * decoder would accept and that would surface later as bad signatures).
 */
async function decodeKey (bytes: Uint8Array, path: string): Promise<PrivateKey> {
  let key: PrivateKey
  try {
    key = privateKeyFromProtobuf(bytes)
  } catch (err) {
    throw new InvalidFileError(path, CORRUPT, 1, { cause: err })
  }
  if (key.type !== 'Ed25519') {
    throw new InvalidFileError(path, `not a valid mesh node key (a ${key.type} key; mesh node keys are Ed25519); refusing to replace it — move it away or restore it`)
  }
  if (!equalBytes(privateKeyToProtobuf(key), bytes)) throw new InvalidFileError(path, CORRUPT)
  const fromSeed = await generateKeyPairFromSeed('Ed25519', key.raw.subarray(0, 32))
  if (!fromSeed.publicKey.equals(key.publicKey)) throw new InvalidFileError(path, CORRUPT)
  return key
}

function equalBytes (a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && a.every((v, i) => v === b[i])
}
