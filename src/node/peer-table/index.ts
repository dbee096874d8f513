/**
 * The peer table: what this node knows of every other node, from their signed heartbeats.
 *
 *   heartbeat ──observe()──▶ memory map ──flush every few s──▶ level (sublevel 'peers')
 *                                 ▲                                  │
 *                                 └────────── load() at start ◀──────┘
 *
 * Persisting means a restarted daemon knows its mesh (and whom to dial) before it hears back;
 * loaded peers stay offline until a fresh heartbeat arrives. A peer the failure detector declares
 * dead (markDown) is offline at once, so placement skips it, until its next heartbeat.
 */
import { PeerTable } from './peer-table.js'
import type { PeerRecord, PeerState } from './state.js'
import type { Logger } from '../logger.js'

export type { PeerRecord, PeerState, Freshness } from './state.js'
export { peerState, shouldDrop, isNewer } from './state.js'

/** The slice of a level sublevel the table needs; a Map-backed fake serves unit tests. */
export interface PeerStore {
  put: (key: string, value: string) => Promise<void>
  del: (key: string) => Promise<void>
  iterator: () => AsyncIterable<[string, string]>
}

export interface PeerTableComponents {
  store: PeerStore
  log: Logger
}

export interface PeerTableInit {
  offlineAfterMs: number
  dropAfterMs: number
  /** past this many peers the one heard from least recently is forgotten (default 10,000) */
  maxPeers?: number
  flushIntervalMs?: number
  now?: () => number
}

export interface PeerView extends PeerRecord {
  state: PeerState
}

export interface PeerTableApi {
  start: () => Promise<void>
  stop: () => Promise<void>
  /** returns false when the advert is not newer than what the table holds */
  observe: (advert: PeerRecord['advert']) => boolean
  /** shows the peer offline until its next newer advert; false when the peer is unknown */
  markDown: (peerId: string) => boolean
  get: (peerId: string) => PeerView | undefined
  list: () => PeerView[]
  /** records that failed to decode at load (reported, never silently dropped) */
  readonly corrupt: number
}

export function peerTable (init: PeerTableInit): (components: PeerTableComponents) => PeerTableApi {
  return (components) => new PeerTable(components, init)
}
