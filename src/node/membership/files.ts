import { copyFile, mkdir, readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { MeshError } from '../../errors.js'
import { errnoCode } from '../home.js'
import { loadAuthorityCert, loadRevocations, readCertificateFile, verifyCertificate, writeRevocationsFile } from '../trust/index.js'
import type { AuthorityCert, NodeCertificate, RevocationList } from '../trust/index.js'

/** Where a node keeps what the authority gave it, inside MESH_HOME. */
export function trustPaths (home: string): { authorities: string, cert: string, revocations: string } {
  return { authorities: join(home, 'authorities'), cert: join(home, 'node.crt'), revocations: join(home, 'revocations.crl') }
}

/** `--authority CA_CRT`: checks it, then copies it in as authorities/<authority id>.crt. */
export async function installAuthority (home: string, src: string): Promise<AuthorityCert> {
  const cert = await loadAuthorityCert(src)
  const dir = trustPaths(home).authorities
  await mkdir(dir, { recursive: true, mode: 0o700 })
  await copyFile(src, join(dir, `${cert.id}.crt`))
  return cert
}

/** `--cert NODE_CRT`: copied in as node.crt (it is checked at start, against the authorities). */
export async function installCertificate (home: string, src: string): Promise<void> {
  await readCertificateFile(src)
  await copyFile(src, trustPaths(home).cert)
}

export interface TrustState {
  authorities: AuthorityCert[]
  own?: { bytes: Uint8Array, cert: NodeCertificate }
  revocations?: { list: RevocationList, bytes: Uint8Array }
}

/**
 * Reads the authorities this node trusts and its own certificate. With no authority the node is in
 * open lab mode; with one, it refuses to start without a valid certificate of its own.
 */
export async function loadTrust (home: string, peerId: string, now = Date.now()): Promise<TrustState> {
  const paths = trustPaths(home)
  const names = await readdir(paths.authorities).catch((err: unknown) => {
    if (errnoCode(err) === 'ENOENT') return []
    throw err
  })
  const authorities = await Promise.all(names.filter(n => n.endsWith('.crt')).sort().map(async n => loadAuthorityCert(join(paths.authorities, n))))
  if (authorities.length === 0) return { authorities }
  const revocations = await loadRevocations(paths.revocations, authorities)
  const bytes = await readCertificateFile(paths.cert).catch((err: unknown) => {
    throw new MeshError(`an authority is configured but this node has no usable certificate (${paths.cert}): ${(err as Error).message}; get one with mesh ca sign (then --cert) or mesh join`)
  })
  const verdict = await verifyCertificate(bytes, { authorities, peerId, now, ...(revocations != null ? { revocations: revocations.list } : {}) })
  if (!verdict.ok) throw new MeshError(`this node's certificate ${paths.cert} is not valid: ${verdict.reason}`)
  return { authorities, own: { bytes, cert: verdict.cert }, ...(revocations != null ? { revocations } : {}) }
}

export async function saveRevocations (home: string, bytes: Uint8Array): Promise<void> {
  await writeRevocationsFile(trustPaths(home).revocations, bytes)
}
