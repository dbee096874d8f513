/**
 * Sync (anti-entropy): two members find which signed task records, older attempts included, and
 * which revocation list the other lacks, and send them — so a node that was down or cut off, or a
 * dispatcher restarted while its tasks ran, converges with the mesh without a central store.
 *
 *   on every new outbound connection, when a peer is heard from again after being suspected dead,
 *   and every ~60 s with one random peer:
 *   hello{revocation version, 256 bucket hashes} ⇄ versions of differing buckets ⇄ wants ⇄ signed envelopes
 *
 * Relayed records are the signer's own envelopes, so the receiver checks them exactly as gossip:
 * signature, schema, signer allowed to write that state, signer a member; then the store orders
 * them (consistent, supersedes). See session.ts for the turns and constants.ts for the bounds.
 */
import { SyncService } from './sync.js'
import type { RecordVerdict, TaskRecord, TaskState } from '../results/index.js'
import type { Logger } from '../../node/logger.js'
import type { Libp2p, PeerId } from '@libp2p/interface'

export { SYNC_PROTOCOL } from './constants.js'
export { bucketOf, digest, differing, wanted, newerVersion } from './digest.js'
export type { Digest } from './digest.js'

/** One version of one attempt of a task. */
export interface RecordVersion {
  id: string
  attempt: number
  state: TaskState
  updatedAt: number
}

export interface RecordKey {
  id: string
  attempt: number
}

/** What a node holds of one attempt; `signed` when it holds the envelope to relay it. */
export interface Held {
  state: TaskState
  updatedAt: number
  signed: boolean
}

/** The store as sync sees it (TaskRecords implements it). */
export interface SyncStore {
  /** changes whenever the held versions change (the digest is cached per revision) */
  revision: () => number
  /** every version this node can relay */
  versions: () => Iterable<RecordVersion>
  held: (id: string, attempt: number) => Held | undefined
  /** false when retention would delete this version at once */
  wouldKeep: (v: RecordVersion) => boolean
  envelope: (id: string, attempt: number) => Promise<Uint8Array | undefined>
  put: (record: TaskRecord, envelope: Uint8Array) => Promise<boolean>
}

/** The node's revocation list (authority mode only). */
export interface RevocationSync {
  /** 0 when none is held */
  version: () => number
  list: () => Uint8Array | undefined
  /** verifies and adopts a newer list (the path gossiped lists take) */
  adopt: (list: Uint8Array) => Promise<void>
}

export interface SyncInit {
  store: SyncStore
  /** the checks gossip applies to a result envelope (results' recordChecker().open) */
  check: (envelope: Uint8Array) => Promise<RecordVerdict>
  /** is the peer a member? why not, or null (authority mode refuses outsiders both ways) */
  authorise?: (peer: string) => string | null
  revocations?: RevocationSync
  intervalMs?: number
  connectDelayMs?: number
  inboundPerMinute?: number
}

/** What one session did. */
export interface SyncResult {
  /** buckets whose hashes differed */
  buckets: number
  /** records asked of the peer, received, accepted (verified, handed to the store), refused (signer not a member here) */
  asked: number
  received: number
  accepted: number
  refused: number
  /** records sent to the peer */
  sent: number
  revocations: 'sent' | 'received' | null
  /** the peer holds more than one session carries: a follow-up session continues */
  more: boolean
}

export interface SyncComponents {
  node: Pick<Libp2p, 'handle' | 'unhandle' | 'dialProtocol' | 'getConnections' | 'addEventListener' | 'removeEventListener'>
  log: Logger
}

export interface Sync {
  start: () => Promise<void>
  stop: () => Promise<void>
  /** a session with `peer` shortly, e.g. when it is heard from again after a partition (connections may have survived it) */
  soon: (peer: string) => void
  /** one session with `peer` as initiator */
  syncWith: (peer: PeerId, signal?: AbortSignal) => Promise<SyncResult>
}

export function sync (init: SyncInit): (components: SyncComponents) => Sync {
  return (components) => new SyncService(components, init)
}
