/**
 * Failure detection: heartbeats say a peer lives; their silence, or its connection closing, makes it
 * a suspect that is probed directly (libp2p ping, dialling when needed); a run of failed probes
 * makes it dead, and any heartbeat makes it alive again.
 *
 *   heartbeat ──heard()──────────▶ ┌──────────┐ ──onAlive(peer)──▶ dispatcher, peer table
 *   peer:disconnect ─────────────▶ │ Detector │ ──onDead(peer)───▶
 *   ping(suspect) ◀── due probes ─ └──────────┘
 *
 * A killed daemon's kernel closes its connections and refuses redials, so it is dead within about
 * (probeFailures - 1) × probeIntervalMs. A stalled one (SIGSTOP, full CPU) keeps its connections,
 * so it needs suspectAfterMs of silence plus probeFailures probes timing out: far longer than a
 * stall of a few seconds. Decisions live in detector.ts; this folder's service only does I/O.
 */
import { LivenessMonitor } from './liveness.js'
import type { LivenessState } from './detector.js'
import type { Logger } from '../logger.js'
import type { Libp2pEvents, TypedEventTarget } from '@libp2p/interface'
import type { Ping } from '@libp2p/ping'

export type { LivenessState, DetectorPolicy, Transition } from './detector.js'
export { Detector } from './detector.js'
export {
  DEFAULT_PROBE_FAILURES, DEFAULT_PROBE_INTERVAL_MS, DEFAULT_PROBE_TIMEOUT_MS, DEFAULT_SUSPECT_AFTER_MS,
  SUSPECT_AFTER_HEARTBEATS
} from './constants.js'

export interface Liveness {
  start(): Promise<void> | void
  stop(): Promise<void> | void
  state(peerId: string): LivenessState
  /** fn runs each time a peer turns dead; returns unsubscribe */
  onDead(fn: (peerId: string) => void): () => void
  /** fn runs each time a dead or suspect peer is heard from again; returns unsubscribe */
  onAlive(fn: (peerId: string) => void): () => void
}

/** What the daemon feeds in besides libp2p's own events. */
export interface LivenessService extends Liveness {
  start(): void
  stop(): void
  /** a heartbeat newer than any before from peerId; `leaving` is a goodbye (gone, not dead) */
  heard(peerId: string, leaving?: boolean): void
}

export interface LivenessComponents {
  ping: Pick<Ping, 'ping'>
  /** the libp2p node: its 'peer:disconnect' (last connection closed) starts a suspicion */
  events: TypedEventTarget<Pick<Libp2pEvents, 'peer:disconnect'>>
  log: Logger
}

export interface LivenessInit {
  suspectAfterMs?: number
  probeIntervalMs?: number
  probeTimeoutMs?: number
  probeFailures?: number
  /** the peer's advertised addresses, dialled when no connection is open */
  addresses?: (peerId: string) => string[]
  /** a display name for log lines */
  name?: (peerId: string) => string | undefined
  /** for tests: the clock */
  now?: () => number
}

export function liveness (init: LivenessInit = {}): (components: LivenessComponents) => LivenessService {
  return (components) => new LivenessMonitor(components, init)
}
