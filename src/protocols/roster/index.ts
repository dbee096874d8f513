/**
 * Roster: when a node opens a connection it pulls, in one round trip, the newest signed advert of
 * every peer the other side heard recently — memberlist's push/pull on join. Gossip alone reaches
 * a newcomer only once it sits in other nodes' gossipsub meshes; adverts sent before that come
 * through IHAVE gossip by chance or with the sender's next refresh, 15 s later (in one mass start
 * of 25 daemons out of eight, a node saw two peers only after 16.5 s; BENCHMARKS.md).
 *
 *   dialler ── own advert (envelope, or empty) ──▶ listener   (checked as gossip; refused → reset)
 *           ── have {v, have: [[peerId, seq], …]} ──▶
 *           ◀── the held advert of each peer missing from `have`, one envelope per frame ──
 *           ◀── empty frame (end) ──
 *
 * Relayed adverts are their signers' own envelopes: the dialler checks each exactly as gossip
 * (signature, signer = advert's peer, schema, clock, membership), and the peer table keeps the
 * newest. Only adverts heard within 1.5 heartbeat intervals are relayed, so a dead peer does not
 * come back as a ghost.
 */
import { RosterService } from './roster.js'
import type { HeldAdvert } from '../heartbeat/index.js'
import type { Logger } from '../../node/logger.js'
import type { Libp2p, PeerId } from '@libp2p/interface'

export { ROSTER_PROTOCOL } from './constants.js'
export { isHave } from './messages.js'
export type { Have } from './messages.js'

export interface RosterInit {
  /** this node's newest advert and the fresh ones it holds (Heartbeat.held) */
  held: () => HeldAdvert[]
  /** checks a relayed envelope as gossip and hands it on (Heartbeat.receive); why refused, or null */
  receive: (envelope: Uint8Array, from: PeerId) => Promise<string | null>
  /** is the peer a member? why not, or null. Checked after its own advert (its certificate) arrived */
  authorise?: (peer: string) => string | null
  /** for tests: the delay after a connection opens (default CONNECT_DELAY_MS) */
  connectDelayMs?: number
  inboundPerMinute?: number
}

export interface RosterComponents {
  node: Pick<Libp2p, 'peerId' | 'handle' | 'unhandle' | 'dialProtocol' | 'getConnections' | 'addEventListener' | 'removeEventListener'>
  log: Logger
}

/** What one pull did. */
export interface RosterResult {
  /** adverts the other side sent, and how many of them passed the checks */
  received: number
  accepted: number
}

export interface Roster {
  start: () => Promise<void>
  stop: () => Promise<void>
  /** pulls the adverts `peer` holds that this node lacks */
  pull: (peer: PeerId, signal?: AbortSignal) => Promise<RosterResult>
}

export function roster (init: RosterInit): (components: RosterComponents) => Roster {
  return (components) => new RosterService(components, init)
}
