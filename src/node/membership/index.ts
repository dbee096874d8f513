/**
 * Membership: who this node lets in, believes and obeys. In open lab mode (no authority
 * configured) every swarm member is trusted for everything; with an authority, a peer counts only
 * with a valid certificate, its tags are those of the certificate, and only certificates with the
 * `dispatch` role may hand this node tasks.
 */
import type { Advert } from '../../protocols/heartbeat/index.js'
import type { OfferAuth } from '../../protocols/push/index.js'

export interface Membership {
  readonly mode: 'open' | 'authority'
  /** this node's certificate (base64) for its heartbeats, or undefined in open mode */
  readonly cert: string | undefined
  /** heartbeat check: why the advert is refused, or null; may narrow `advert.tags` to the certificate's */
  admit: (advert: Advert) => string | null | Promise<string | null>
  /** may this peer's signed records (results) be believed, may it read logs? */
  isMember: (peerId: string) => string | null
  /** may this peer control others' tasks (cancel)? a member with the dispatch role */
  canDispatch: (peerId: string) => string | null
  /** peers refused at the transport */
  denied: (peerId: string) => boolean
  /** offer signing and verification for the push protocol */
  auth: OfferAuth
  start: () => Promise<void>
  stop: () => Promise<void>
}

/** Open lab mode: every swarm member is trusted; offers are still signed and checked for replays. */
export function openMembership (auth: OfferAuth): Membership {
  return {
    mode: 'open',
    cert: undefined,
    admit: () => null,
    isMember: () => null,
    canDispatch: () => null,
    denied: () => false,
    auth,
    start: async () => {},
    stop: async () => {}
  }
}

/** Until tasks are signed: accepts what the transport authenticated (the connection's peer id). */
export function unsignedAuth (): OfferAuth {
  return {
    sign: async () => ({ auth: '', cert: null }),
    verify: async () => null
  }
}
