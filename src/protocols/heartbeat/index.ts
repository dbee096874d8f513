/**
 * Heartbeats: every node publishes a signed advert of itself (tags, capacity, addresses) on a
 * private gossip topic when it changes, when a peer it had not heard appears or a peer subscribes
 * to the topic, and at least once per interval (15 s) as a sign of life; and a goodbye advert when
 * it stops.
 *
 *   node ──seal(advert, nodeKey)──▶ gossipsub /mesh/heartbeat/1.0.0 ──▶ every node
 *                                      │ validator: size → envelope signature → signer = advert's peer id
 *                                      │            = advert.peerId → schema → clock skew
 *                                      ▼
 *                                   onAdvert(advert)  (the peer table decides freshness)
 *
 * A heartbeat signed by one key that claims to be another peer is rejected, and gossipsub stops
 * relaying it. The service keeps the newest envelope of each peer so protocols/roster can hand a
 * newcomer the adverts it missed; those take the same checks on arrival.
 */
import { HeartbeatService } from './heartbeat.js'
import type { Advert } from './advert.js'
import type { Logger } from '../../node/logger.js'
import type { TopicPubSub } from '../signed-topic.js'
import type { PeerId, PrivateKey } from '@libp2p/interface'

export type { Advert, NumaAdvert, GpuAdvert } from './advert.js'
export { HEARTBEAT_TOPIC } from './constants.js'

export interface HeartbeatComponents {
  peerId: PeerId
  privateKey: PrivateKey
  pubsub: TopicPubSub
  log: Logger
}

/** The parts of an advert the owner fills in; the service stamps identity, seq and time. */
export type AdvertBody = Omit<Advert, 'v' | 'peerId' | 'seq' | 'sentAt' | 'leaving'>

export interface HeartbeatInit {
  /** an unchanged advert is re-sent this often (a changed one within changeCheckMs) */
  intervalMs?: number
  /** how often the advert is compared with the last one sent; for tests (default 1 s) */
  changeCheckMs?: number
  /** how long capacity changes are gathered into one advert; for tests (default COALESCE_MS) */
  coalesceMs?: number
  /** upper bound of the random delay before greeting a new peer; for tests (default 1 s) */
  greetJitterMs?: number
  /** called on every tick for the current state of this node */
  advert: () => AdvertBody
  /** called with each valid advert from another node */
  onAdvert: (advert: Advert) => void
  /** membership check (certificates); returns why the advert is refused, or null. Refused
   * adverts are not relayed. */
  authorise?: (advert: Advert) => string | null | Promise<string | null>
  /** this node's certificate (base64), carried in every advert in authority mode */
  cert?: string
  /** for tests: the clock */
  now?: () => number
}

/** The newest signed advert of one peer, as it came (relayed as is: the receiver checks its signature). */
export interface HeldAdvert {
  peerId: string
  seq: number
  envelope: Uint8Array
}

export interface Heartbeat {
  start: () => Promise<void>
  stop: () => Promise<void>
  /** publish now, e.g. after capacity changed, instead of waiting for the next tick */
  publishNow: () => Promise<void>
  /**
   * capacity changed: advertise within COALESCE_MS. A burst of task starts and ends becomes one
   * advert carrying the latest numbers, not one signed gossip message per change; and nothing at
   * all when the advert is back to what was last sent (a task that ended within the window).
   */
  publishSoon: () => void
  /**
   * a peer this node had not heard from appeared (the service also greets on its own when a peer
   * subscribes to the topic): advertise within a random delay up to GREET_JITTER_MS, so it learns
   * of this node without waiting for the next interval
   */
  greet: () => void
  /**
   * this node's newest advert and the newest gossiped advert of every peer heard within
   * RELAY_FRESH_INTERVALS heartbeat intervals, for a node pulling the roster (protocols/roster)
   */
  held: () => HeldAdvert[]
  /** an advert envelope relayed by `from` rather than gossiped: the checks gossip applies, then onAdvert; why it was refused, or null */
  receive: (envelope: Uint8Array, from: PeerId) => Promise<string | null>
}

export function heartbeat (init: HeartbeatInit): (components: HeartbeatComponents) => Heartbeat {
  return (components) => new HeartbeatService(components, init)
}
