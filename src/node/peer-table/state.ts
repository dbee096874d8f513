import type { Advert } from '../../protocols/heartbeat/index.js'

/** What the table keeps per peer: the newest advert and when this node last heard it. */
export interface PeerRecord {
  advert: Advert
  /** this node's clock, ms since epoch; never the sender's (clocks differ across a lab) */
  lastSeen: number
}

export type PeerState = 'online' | 'offline'

export interface Freshness {
  offlineAfterMs: number
  dropAfterMs: number
}

/** Pure: online while heartbeats keep coming and the peer has not said goodbye. */
export function peerState (record: PeerRecord, now: number, f: Freshness): PeerState {
  if (record.advert.leaving) return 'offline'
  return now - record.lastSeen < f.offlineAfterMs ? 'online' : 'offline'
}

export function shouldDrop (record: PeerRecord, now: number, f: Freshness): boolean {
  return now - record.lastSeen >= f.dropAfterMs
}

/** Pure: does `next` replace `current`? Only a strictly newer sequence number does. */
export function isNewer (current: PeerRecord | undefined, next: Advert): boolean {
  return current == null || next.seq > current.advert.seq
}
