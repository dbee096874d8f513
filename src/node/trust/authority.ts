/**
 * The mesh authority: one Ed25519 key that signs node certificates and revocation lists. Its folder
 * (`--ca DIR`) holds `ca.key` (0600, libp2p protobuf, like a node key) and `ca.crt` (public JSON,
 * self-signed); only `ca.crt` is copied to nodes. The key belongs on an admin's machine, not on
 * runners: whoever holds it can make any peer a dispatcher.
 */
import { mkdir, readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf, publicKeyFromProtobuf, publicKeyToProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromPublicKey } from '@libp2p/peer-id'
import type { PrivateKey, PublicKey } from '@libp2p/interface'
import { InvalidFileError, MeshError } from '../../errors.js'
import { errnoCode, fsProblem, writeFileAtomic } from '../home.js'
import { AUTHORITY_CERT_DOMAIN, AUTHORITY_CERT_FILE, AUTHORITY_KEY_FILE, MAX_AUTHORITY_CERT_BYTES } from './constants.js'
import { Fields, MalformedError } from './fields.js'
import type { Authority, AuthorityCert } from './types.js'

const AUTHORITY_CERT_KEYS = ['v', 'kind', 'id', 'name', 'publicKey', 'createdAt', 'signature'] as const

export interface CreateAuthorityOptions {
  /** shown when listing trusted authorities; default `mesh authority <date>` */
  name?: string
  /** ms since epoch; default Date.now() */
  now?: number
}

/** Makes `DIR/ca.key` and `DIR/ca.crt`; refuses when either exists (a new key orphans every certificate). */
export async function createAuthority (dir: string, options: CreateAuthorityOptions = {}): Promise<Authority> {
  const keyPath = join(dir, AUTHORITY_KEY_FILE)
  const certPath = join(dir, AUTHORITY_CERT_FILE)
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 })
  } catch (err) {
    throw new MeshError(`cannot create ${dir}: ${fsProblem(err)}`, 1, { cause: err })
  }
  for (const path of [keyPath, certPath]) {
    if (await exists(path)) throw new MeshError(`${path} already exists; refusing to overwrite a mesh authority (certificates it signed would no longer verify)`)
  }
  const key = await generateKeyPair('Ed25519')
  const createdAt = new Date(options.now ?? Date.now()).toISOString()
  const cert = await signAuthorityCert(key, options.name ?? `mesh authority ${createdAt.slice(0, 10)}`, createdAt)
  if (!await writeFileAtomic(keyPath, privateKeyToProtobuf(key), { mode: 0o600, exclusive: true })) {
    throw new MeshError(`${keyPath} already exists; refusing to overwrite a mesh authority`)
  }
  if (!await writeFileAtomic(certPath, formatAuthorityCert(cert), { mode: 0o644, exclusive: true })) {
    throw new MeshError(`${certPath} already exists; refusing to overwrite a mesh authority`)
  }
  return { key, cert }
}

/** The key and certificate of the authority in `dir`, checked to belong together. */
export async function loadAuthority (dir: string): Promise<Authority> {
  const keyPath = join(dir, AUTHORITY_KEY_FILE)
  if (!await exists(keyPath)) throw new MeshError(`${dir}: no mesh authority here (create one with: mesh ca init --ca ${dir})`)
  const cert = await loadAuthorityCert(join(dir, AUTHORITY_CERT_FILE))
  const key = await loadAuthorityKey(keyPath)
  if (peerIdFromPublicKey(key.publicKey).toString() !== cert.id) {
    throw new InvalidFileError(keyPath, `does not match ${AUTHORITY_CERT_FILE} (authority ${cert.id}); the folder mixes two authorities`)
  }
  return { key, cert }
}

/** A trusted authority's public certificate (what nodes are given with --authority). */
export async function loadAuthorityCert (path: string): Promise<AuthorityCert> {
  let text: string
  try {
    const buf = await readFile(path)
    if (buf.byteLength > MAX_AUTHORITY_CERT_BYTES) throw new InvalidFileError(path, 'too large to be a mesh authority certificate')
    text = buf.toString('utf8')
  } catch (err) {
    if (err instanceof MeshError) throw err
    if (errnoCode(err) === 'ENOENT') throw new MeshError(`${path}: no such file (an authority certificate is the ca.crt made by: mesh ca init)`, 1, { cause: err })
    throw new MeshError(`cannot read ${path}: ${fsProblem(err)}`, 1, { cause: err })
  }
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (err) {
    throw new InvalidFileError(path, 'not a mesh authority certificate (not JSON)', 1, { cause: err })
  }
  try {
    return await parseAuthorityCert(json)
  } catch (err) {
    if (err instanceof MalformedError) throw new InvalidFileError(path, `not a valid mesh authority certificate: ${err.message}`)
    throw err
  }
}

/**
 * Checks an authority certificate from JSON (a file, an invite token): fields, that `id` is its
 * key's peer id and that the key signed it. Throws MalformedError with the problem.
 */
export async function parseAuthorityCert (value: unknown): Promise<AuthorityCert> {
  const f = new Fields(value, { kind: 'mesh-authority', keys: AUTHORITY_CERT_KEYS })
  const cert: AuthorityCert = {
    v: 1,
    kind: 'mesh-authority',
    id: f.peerId('id'),
    name: f.displayName('name'),
    publicKey: f.string('publicKey', 256),
    createdAt: f.time('createdAt'),
    signature: f.string('signature', 256)
  }
  let publicKey: PublicKey
  try {
    publicKey = authorityPublicKey(cert)
  } catch {
    throw new MalformedError('publicKey is not a libp2p public key')
  }
  if (publicKey.type !== 'Ed25519') throw new MalformedError(`publicKey is a ${publicKey.type} key; authority keys are Ed25519`)
  if (peerIdFromPublicKey(publicKey).toString() !== cert.id) throw new MalformedError('id is not the peer id of publicKey')
  // a signature of the wrong length makes verify throw (TypeError), not return false
  let valid = false
  try {
    valid = await publicKey.verify(selfSignedBytes(cert), Buffer.from(cert.signature, 'base64'))
  } catch {}
  if (!valid) throw new MalformedError('bad self-signature')
  return cert
}

export function authorityPublicKey (cert: AuthorityCert): PublicKey {
  return publicKeyFromProtobuf(Buffer.from(cert.publicKey, 'base64'))
}

/** The text of a ca.crt file. */
export function formatAuthorityCert (cert: AuthorityCert): string {
  return JSON.stringify(cert, null, 2) + '\n'
}

async function signAuthorityCert (key: PrivateKey, name: string, createdAt: string): Promise<AuthorityCert> {
  const unsigned = {
    v: 1 as const,
    kind: 'mesh-authority' as const,
    id: peerIdFromPublicKey(key.publicKey).toString(),
    name,
    publicKey: Buffer.from(publicKeyToProtobuf(key.publicKey)).toString('base64'),
    createdAt
  }
  const signature = await key.sign(selfSignedBytes(unsigned))
  return { ...unsigned, signature: Buffer.from(signature).toString('base64') }
}

/** Fixed field order, so signer and verifier build the same bytes whatever order the file has. */
function selfSignedBytes (c: Omit<AuthorityCert, 'signature'>): Uint8Array {
  const body = { v: c.v, kind: c.kind, id: c.id, name: c.name, publicKey: c.publicKey, createdAt: c.createdAt }
  return new TextEncoder().encode(`${AUTHORITY_CERT_DOMAIN}\n${JSON.stringify(body)}`)
}

async function loadAuthorityKey (path: string): Promise<PrivateKey> {
  let bytes: Uint8Array
  try {
    const st = await stat(path)
    if (!st.isFile()) throw new InvalidFileError(path, 'not a regular file; expected a mesh authority key')
    const perms = st.mode & 0o777
    if ((perms & 0o077) !== 0) throw new InvalidFileError(path, `permissions ${perms.toString(8).padStart(4, '0')} are too open; run chmod 600 ${path}`)
    if (st.size > 4096) throw new InvalidFileError(path, 'not a mesh authority key (too large)')
    bytes = await readFile(path)
  } catch (err) {
    if (err instanceof MeshError) throw err
    throw new MeshError(`cannot read ${path}: ${fsProblem(err)}`, 1, { cause: err })
  }
  let key: PrivateKey
  try {
    key = privateKeyFromProtobuf(bytes)
  } catch (err) {
    throw new InvalidFileError(path, 'not a mesh authority key (corrupt or truncated)', 1, { cause: err })
  }
  if (key.type !== 'Ed25519') throw new InvalidFileError(path, `not a mesh authority key (a ${key.type} key; authority keys are Ed25519)`)
  return key
}

async function exists (path: string): Promise<boolean> {
  try {
    await stat(path)
    return true
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return false
    throw new MeshError(`cannot read ${path}: ${fsProblem(err)}`, 1, { cause: err })
  }
}
