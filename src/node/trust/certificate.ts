/**
 * Node certificates: the authority's signed statement "peer P is called N, may claim tags T and
 * holds roles R until time X". A signed envelope (domain `mesh-node-cert`) around JSON; on disk the
 * envelope is armored text (see armor.ts). Checking one is pure: the caller passes the trusted
 * authorities, the revocation lists it holds and the time.
 */
import { randomBytes } from 'node:crypto'
import { MeshError } from '../../errors.js'
import { sealJson } from '../../protocols/envelope/index.js'
import { armor, readArmored, writeArmored } from './armor.js'
import { DEFAULT_CLOCK_SKEW_MS, MAX_NODE_CERT_BYTES, NODE_CERT_DOMAIN, NODE_CERT_LABEL, NODE_CERT_PAYLOAD_TYPE } from './constants.js'
import { openSigned } from './envelope.js'
import { Fields, MalformedError } from './fields.js'
import { isRevoked } from './revocation.js'
import type { RecordKind } from '../../protocols/envelope/index.js'
import type { Authority, AuthorityCert, NodeCertificate, RevocationList, Role, Verdict } from './types.js'

export const NODE_CERT_KIND: RecordKind = { domain: NODE_CERT_DOMAIN, payloadType: NODE_CERT_PAYLOAD_TYPE, maxBytes: MAX_NODE_CERT_BYTES }

const CERT_KEYS = ['v', 'kind', 'serial', 'peerId', 'name', 'tags', 'roles', 'issuer', 'notBefore', 'notAfter'] as const
const SERIAL = /^[0-9a-f]{32}$/

export interface IssueInit {
  peerId: string
  name: string
  tags: string[]
  roles: Role[]
  /** validity from `now` */
  ttlMs: number
  /** ms since epoch; default Date.now() */
  now?: number
  /** default: 16 random bytes in hex */
  serial?: string
}

/** Signs a certificate; returns the envelope bytes. Bad input is a MeshError naming the field. */
export async function issueCertificate (authority: Authority, init: IssueInit): Promise<Uint8Array> {
  const now = init.now ?? Date.now()
  if (!Number.isSafeInteger(init.ttlMs) || init.ttlMs <= 0) throw new MeshError('cannot issue certificate: the validity must be longer than 0')
  const cert: NodeCertificate = {
    v: 1,
    kind: 'mesh-node-cert',
    serial: init.serial ?? randomBytes(16).toString('hex'),
    peerId: init.peerId,
    name: init.name,
    tags: [...new Set(init.tags)].sort(),
    roles: [...new Set(init.roles)].sort(),
    issuer: authority.cert.id,
    notBefore: new Date(now).toISOString(),
    notAfter: new Date(now + init.ttlMs).toISOString()
  }
  try {
    parseCertificate(cert)
  } catch (err) {
    if (err instanceof MalformedError) throw new MeshError(`cannot issue certificate: ${err.message}`)
    throw err
  }
  return sealJson(NODE_CERT_KIND, cert, authority.key)
}

/**
 * Signature, authority and form only: no time, peer or revocation check. For tools that must read
 * an expired certificate (revoking it by serial, showing it).
 */
export async function openCertificate (bytes: Uint8Array, authorities: readonly AuthorityCert[]): Promise<Verdict<{ cert: NodeCertificate }>> {
  const opened = await openSigned(NODE_CERT_KIND, 'certificate', bytes)
  if (!opened.ok) return opened
  if (!authorities.some(a => a.id === opened.signer)) return { ok: false, reason: `certificate is from an unknown authority (${opened.signer})` }
  let cert: NodeCertificate
  try {
    cert = parseCertificate(opened.payload)
  } catch (err) {
    if (err instanceof MalformedError) return { ok: false, reason: `certificate is malformed: ${err.message}` }
    throw err
  }
  if (cert.issuer !== opened.signer) return { ok: false, reason: `certificate names issuer ${cert.issuer} but was signed by ${opened.signer}` }
  return { ok: true, cert }
}

export interface VerifyCertificateOptions {
  /** every authority this node trusts (several during a rotation) */
  authorities: readonly AuthorityCert[]
  /** the peer presenting it; when given the certificate must be for this peer */
  peerId?: string
  /** ms since epoch */
  now: number
  /** verified lists of trusted authorities; an entry in any of them revokes */
  revocations?: RevocationList | readonly RevocationList[]
  /** a notBefore this far ahead of `now` is accepted; default DEFAULT_CLOCK_SKEW_MS */
  clockSkewMs?: number
}

/** Everything a node checks before it trusts a peer's certificate. */
export async function verifyCertificate (bytes: Uint8Array, options: VerifyCertificateOptions): Promise<Verdict<{ cert: NodeCertificate }>> {
  const opened = await openCertificate(bytes, options.authorities)
  if (!opened.ok) return opened
  const { cert } = opened
  if (options.peerId != null && cert.peerId !== options.peerId) return { ok: false, reason: `certificate is for peer ${cert.peerId}, not ${options.peerId}` }
  for (const list of asList(options.revocations)) {
    const entry = isRevoked(list, cert)
    if (entry?.serial === cert.serial) return { ok: false, reason: `certificate serial ${cert.serial} is revoked (since ${entry.at})` }
    if (entry != null) return { ok: false, reason: `peer ${cert.peerId} is revoked (since ${entry.at})` }
  }
  if (options.now < Date.parse(cert.notBefore) - (options.clockSkewMs ?? DEFAULT_CLOCK_SKEW_MS)) {
    return { ok: false, reason: `certificate is not yet valid (valid from ${cert.notBefore})` }
  }
  if (options.now >= Date.parse(cert.notAfter)) return { ok: false, reason: `certificate expired at ${cert.notAfter}` }
  return { ok: true, cert }
}

function asList (r: RevocationList | readonly RevocationList[] | undefined): readonly RevocationList[] {
  if (r == null) return []
  return 'kind' in r ? [r] : r
}

export function hasRole (cert: NodeCertificate, role: Role): boolean {
  return cert.roles.includes(role)
}

/** The tags of `tags` the certificate does not allow its node to claim (empty: all allowed). */
export function unallowedTags (cert: NodeCertificate, tags: readonly string[]): string[] {
  const allowed = new Set(cert.tags)
  return tags.filter(t => !allowed.has(t))
}

/** Reads the armored `.crt` file of a node certificate; no check beyond the armor. */
export async function readCertificateFile (path: string): Promise<Uint8Array> {
  return readArmored(path, NODE_CERT_LABEL, MAX_NODE_CERT_BYTES)
}

/** The text of a `.crt` file. */
export function certificateText (bytes: Uint8Array): string {
  return armor(NODE_CERT_LABEL, bytes)
}

export async function writeCertificateFile (path: string, bytes: Uint8Array): Promise<void> {
  await writeArmored(path, NODE_CERT_LABEL, bytes)
}

/** Throws MalformedError with the first problem. */
export function parseCertificate (value: unknown): NodeCertificate {
  const f = new Fields(value, { kind: 'mesh-node-cert', keys: CERT_KEYS })
  const cert: NodeCertificate = {
    v: 1,
    kind: 'mesh-node-cert',
    serial: f.string('serial', 32, SERIAL),
    peerId: f.peerId('peerId'),
    name: f.displayName('name'),
    tags: f.tags('tags'),
    roles: f.roles('roles'),
    issuer: f.peerId('issuer'),
    notBefore: f.time('notBefore'),
    notAfter: f.time('notAfter')
  }
  if (Date.parse(cert.notAfter) <= Date.parse(cert.notBefore)) throw new MalformedError('notAfter is not after notBefore')
  return cert
}
