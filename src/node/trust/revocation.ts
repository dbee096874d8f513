/**
 * Revocation lists: the authority's signed, versioned list of revoked peers and certificate
 * serials. Nodes pass lists around and keep, per authority, the highest version they have seen;
 * an older or equal version is refused, so a replayed old list cannot un-revoke anyone.
 */
import { MeshError } from '../../errors.js'
import { shown } from '../../protocols/peer-text.js'
import { sealJson } from '../../protocols/envelope/index.js'
import { MAX_REVOCATIONS_BYTES, REVOCATIONS_DOMAIN, REVOCATIONS_PAYLOAD_TYPE } from './constants.js'
import { openSigned } from './envelope.js'
import { Fields, MalformedError, peerIdProblem } from './fields.js'
import type { RecordKind } from '../../protocols/envelope/index.js'
import type { Authority, AuthorityCert, RevocationList, RevokedEntry, Verdict } from './types.js'

export const REVOCATIONS_KIND: RecordKind = { domain: REVOCATIONS_DOMAIN, payloadType: REVOCATIONS_PAYLOAD_TYPE, maxBytes: MAX_REVOCATIONS_BYTES }

const LIST_KEYS = ['v', 'kind', 'issuer', 'version', 'revoked', 'issuedAt'] as const
const SERIAL = /^[0-9a-f]{32}$/
const MAX_ENTRIES = 10_000

/** What to revoke: a peer (every certificate it holds) or one certificate. */
export type RevokeTarget = { peerId: string, serial?: undefined } | { serial: string, peerId?: undefined }

/**
 * The list with `target` added and the version raised by one, signed. `current` is the list the
 * authority last issued (undefined for the first). Refuses a target already on the list.
 */
export async function revoke (authority: Authority, current: RevocationList | undefined, target: RevokeTarget, now = Date.now()): Promise<{ list: RevocationList, bytes: Uint8Array }> {
  if (current != null && current.issuer !== authority.cert.id) {
    throw new MeshError(`the current revocation list is from authority ${current.issuer}, not ${authority.cert.id}`)
  }
  const entry: RevokedEntry = { ...targetProblemFree(target), at: new Date(now).toISOString() }
  if (current?.revoked.some(e => e.peerId === entry.peerId && e.serial === entry.serial) === true) {
    throw new MeshError(`${describe(entry)} is already revoked (list version ${current?.version ?? 0})`)
  }
  const list: RevocationList = {
    v: 1,
    kind: 'mesh-revocations',
    issuer: authority.cert.id,
    version: (current?.version ?? 0) + 1,
    revoked: [...(current?.revoked ?? []), entry],
    issuedAt: new Date(now).toISOString()
  }
  if (list.revoked.length > MAX_ENTRIES) throw new MeshError(`the revocation list is full (${MAX_ENTRIES} entries); start a new authority`)
  return { list, bytes: await sealJson(REVOCATIONS_KIND, list, authority.key) }
}

/** Opens a list and checks it was signed by one of `authorities` (its own issuer). */
export async function verifyRevocations (bytes: Uint8Array, authorities: readonly AuthorityCert[]): Promise<Verdict<{ list: RevocationList }>> {
  const opened = await openSigned(REVOCATIONS_KIND, 'revocation list', bytes)
  if (!opened.ok) return opened
  if (!authorities.some(a => a.id === opened.signer)) return { ok: false, reason: `revocation list is from an unknown authority (${opened.signer})` }
  let list: RevocationList
  try {
    list = parseRevocations(opened.payload)
  } catch (err) {
    if (err instanceof MalformedError) return { ok: false, reason: `revocation list is malformed: ${err.message}` }
    throw err
  }
  if (list.issuer !== opened.signer) return { ok: false, reason: `revocation list names issuer ${list.issuer} but was signed by ${opened.signer}` }
  return { ok: true, list }
}

/**
 * Whether `incoming` replaces `held` (the list kept for the same authority): only a higher version
 * does. Lists of two authorities are separate; comparing them is refused.
 */
export function newer (held: RevocationList | undefined, incoming: RevocationList): Verdict<object> {
  if (held == null) return { ok: true }
  if (held.issuer !== incoming.issuer) return { ok: false, reason: `revocation list is from authority ${incoming.issuer}, the held one from ${held.issuer}` }
  if (incoming.version < held.version) return { ok: false, reason: `revocation list version ${incoming.version} is older than the held version ${held.version}` }
  if (incoming.version === held.version) return { ok: false, reason: `revocation list version ${incoming.version} is already held` }
  return { ok: true }
}

/** The entry revoking this peer or this certificate serial, if any. */
export function isRevoked (list: RevocationList, subject: { peerId: string, serial: string }): RevokedEntry | undefined {
  return list.revoked.find(e => (e.serial != null && e.serial === subject.serial) || (e.peerId != null && e.peerId === subject.peerId))
}

/** Throws MalformedError with the first problem. */
export function parseRevocations (value: unknown): RevocationList {
  const f = new Fields(value, { kind: 'mesh-revocations', keys: LIST_KEYS })
  return {
    v: 1,
    kind: 'mesh-revocations',
    issuer: f.peerId('issuer'),
    version: f.integer('version', 1),
    revoked: f.array('revoked', MAX_ENTRIES).map((e, i) => parseEntry(e, i)),
    issuedAt: f.time('issuedAt')
  }
}

function parseEntry (value: unknown, i: number): RevokedEntry {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new MalformedError(`revoked[${i}] is not an object`)
  const e = value as Record<string, unknown>
  const extra = Object.keys(e).find(k => k !== 'peerId' && k !== 'serial' && k !== 'at')
  if (extra != null) throw new MalformedError(`revoked[${i}] has an unexpected field ${shown(extra)}`)
  const at = e.at
  if (typeof at !== 'string' || Number.isNaN(Date.parse(at))) throw new MalformedError(`revoked[${i}].at is not an ISO time`)
  const { peerId, serial } = e
  if (peerId != null && serial == null && typeof peerId === 'string' && peerIdProblem(peerId) == null) return { peerId, at }
  if (serial != null && peerId == null && typeof serial === 'string' && SERIAL.test(serial)) return { serial, at }
  throw new MalformedError(`revoked[${i}] must name either a peer id or a 32-hex-digit serial`)
}

function targetProblemFree (target: RevokeTarget): { peerId: string } | { serial: string } {
  if (target.peerId != null) {
    const problem = peerIdProblem(target.peerId)
    if (problem != null) throw new MeshError(`cannot revoke: ${problem}`)
    return { peerId: target.peerId }
  }
  if (!SERIAL.test(target.serial)) throw new MeshError(`cannot revoke: '${target.serial}' is not a certificate serial (32 hex digits)`)
  return { serial: target.serial }
}

function describe (e: RevokedEntry): string {
  return e.peerId != null ? `peer ${e.peerId}` : `certificate serial ${e.serial ?? ''}`
}
