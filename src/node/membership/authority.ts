import { errorMessage } from '../../errors.js'
import { hasRole, newer, verifyCertificate, verifyRevocations } from '../trust/index.js'
import type { Membership } from './index.js'
import type { Advert } from '../../protocols/heartbeat/index.js'
import type { OfferAuth } from '../../protocols/push/index.js'
import type { Logger } from '../logger.js'
import type { AuthorityCert, NodeCertificate, RevocationList } from '../trust/index.js'

export interface AuthorityMembershipInit {
  self: string
  authorities: AuthorityCert[]
  /** this node's own certificate bytes, already verified */
  ownCert: Uint8Array
  revocations?: RevocationList
  log: Logger
  /** close every connection to a peer (revoked) */
  hangUp: (peerId: string) => Promise<void>
  /** persists a newer revocation list */
  saveRevocations: (bytes: Uint8Array) => Promise<void>
  now?: () => number
}

interface Known {
  bytes: string
  cert: NodeCertificate
}

/**
 * Authority mode: certificates decide. A peer's heartbeat must carry a certificate of a trusted
 * authority, for that peer, unexpired and unrevoked; its advertised tags are narrowed to the
 * certificate's (the rest is logged and ignored); its signed results count only while it is a
 * member; it may dispatch only with the `dispatch` role. A newer revocation list drops and denies
 * the revoked peers at once.
 */
export class AuthorityMembership implements Omit<Membership, 'auth'> {
  readonly mode = 'authority'
  readonly cert: string
  private readonly init: AuthorityMembershipInit
  private readonly now: () => number
  private readonly members = new Map<string, Known>()
  private readonly deny = new Set<string>()
  /** reasons already logged per peer, so a refused peer does not flood the log every heartbeat */
  private readonly logged = new Map<string, string>()
  private revocations?: RevocationList

  constructor (init: AuthorityMembershipInit) {
    this.init = init
    this.now = init.now ?? Date.now
    this.cert = Buffer.from(init.ownCert).toString('base64')
    this.revocations = init.revocations
  }

  async start (): Promise<void> {}
  async stop (): Promise<void> {}

  get revocationVersion (): number {
    return this.revocations?.version ?? 0
  }

  async admit (advert: Advert): Promise<string | null> {
    const refused = await this.check(advert.cert ?? null, advert.peerId)
    if (refused != null) {
      this.members.delete(advert.peerId)
      return this.note(advert.peerId, refused)
    }
    const { cert } = this.members.get(advert.peerId)!
    const claimed = advert.tags.filter(t => !cert.tags.includes(t))
    if (claimed.length > 0) {
      this.note(advert.peerId, `advertises tags its certificate lacks: ${claimed.join(',')} (ignored)`)
      advert.tags = advert.tags.filter(t => cert.tags.includes(t))
    }
    return null
  }

  isMember (peerId: string): string | null {
    if (peerId === this.init.self) return null
    const known = this.members.get(peerId)
    if (known == null) return `${peerId} has not presented a valid certificate`
    if (this.now() >= Date.parse(known.cert.notAfter)) return `certificate of ${peerId} expired at ${known.cert.notAfter}`
    return this.deny.has(peerId) ? `${peerId} is revoked` : null
  }

  canDispatch (peerId: string): string | null {
    const refused = this.isMember(peerId)
    if (refused != null || peerId === this.init.self) return refused
    return hasRole(this.members.get(peerId)!.cert, 'dispatch') ? null : `${peerId} lacks the dispatch role`
  }

  denied (peerId: string): boolean {
    return this.deny.has(peerId)
  }

  /** For the push protocol: the offer's certificate must be valid for `from` and hold `dispatch`. */
  async checkDispatcher (certB64: string | null, from: string): Promise<string | null> {
    const refused = await this.check(certB64, from)
    if (refused != null) return refused
    const { cert } = this.members.get(from)!
    return hasRole(cert, 'dispatch') ? null : `peer ${from} (${cert.name}) may not dispatch: its certificate lacks the dispatch role`
  }

  /** Verifies a certificate (signature once per distinct bytes) and remembers the member. */
  private async check (certB64: string | null, peerId: string): Promise<string | null> {
    if (certB64 == null || certB64 === '') return `peer ${peerId} presents no certificate`
    const known = this.members.get(peerId)
    if (known != null && known.bytes === certB64) {
      // same bytes as already verified: only time and revocation can have changed
      if (this.now() >= Date.parse(known.cert.notAfter)) return `certificate expired at ${known.cert.notAfter}`
      return this.deny.has(peerId) ? `peer ${peerId} is revoked` : null
    }
    if (known != null) this.members.delete(peerId)
    const verdict = await verifyCertificate(Buffer.from(certB64, 'base64'), {
      authorities: this.init.authorities,
      peerId,
      now: this.now(),
      ...(this.revocations != null ? { revocations: this.revocations } : {})
    })
    if (!verdict.ok) return verdict.reason
    this.members.set(peerId, { bytes: certB64, cert: verdict.cert })
    return null
  }

  /** Checks a revocation list from gossip or the CLI: trusted issuer, newer than the one held. */
  async checkRevocations (bytes: Uint8Array): Promise<{ ok: true, list: RevocationList } | { ok: false, reason: string }> {
    const verdict = await verifyRevocations(bytes, this.init.authorities)
    if (!verdict.ok) return verdict
    const fresher = newer(this.revocations, verdict.list)
    return fresher.ok ? { ok: true, list: verdict.list } : fresher
  }

  /** Adopts a verified newer list: persists it, forgets and denies revoked members, hangs up on them. */
  async adopt (list: RevocationList, bytes: Uint8Array): Promise<string[]> {
    if (!newer(this.revocations, list).ok) return []
    this.revocations = list
    await this.init.saveRevocations(bytes).catch((err: unknown) => { this.init.log.warn({ component: 'membership', err }, 'saving revocation list failed') })
    const revoked: string[] = []
    for (const entry of list.revoked) {
      if (entry.peerId != null) revoked.push(entry.peerId)
      for (const [id, m] of this.members) if (entry.serial != null && m.cert.serial === entry.serial) revoked.push(id)
    }
    for (const id of revoked) {
      this.members.delete(id)
      this.deny.add(id)
      await this.init.hangUp(id).catch((err: unknown) => { this.init.log.debug({ component: 'membership', peer: id, reason: errorMessage(err) }, 'hang up failed') })
    }
    this.init.log.info({ component: 'membership', version: list.version, revoked }, 'adopted revocation list')
    return revoked
  }

  private note (peerId: string, reason: string): string {
    if (this.logged.get(peerId) !== reason) {
      if (this.logged.size > 10_000) this.logged.clear()
      this.logged.set(peerId, reason)
      this.init.log.warn({ component: 'membership', peer: peerId, reason }, 'peer refused')
    }
    return reason
  }
}

export type { OfferAuth }
