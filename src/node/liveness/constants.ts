/**
 * Failure-detection defaults (docs/reliability.md, "Failure detection"). A SIGKILLed daemon closes
 * its TCP connections at once and refuses redials, so it is dead after about
 * (DEFAULT_PROBE_FAILURES - 1) × DEFAULT_PROBE_INTERVAL_MS. A stalled or cut-off peer this node is
 * connected to fails libp2p's connection-monitor ping (every 10 s), which closes the connection and
 * makes it suspect; one only heard through gossip has to stay silent for suspectAfter (2.5 heartbeat
 * intervals) + failures × timeout before it is declared dead.
 */
import { DEFAULT_HEARTBEAT_INTERVAL_MS } from '../../protocols/heartbeat/constants.js'

/** silence (no heartbeat) that makes a peer suspect, as a multiple of the heartbeat interval */
export const SUSPECT_AFTER_HEARTBEATS = 2.5
export const DEFAULT_SUSPECT_AFTER_MS = SUSPECT_AFTER_HEARTBEATS * DEFAULT_HEARTBEAT_INTERVAL_MS
/** a suspect is probed this often (a probe still running delays the next one) */
export const DEFAULT_PROBE_INTERVAL_MS = 1_000
export const DEFAULT_PROBE_TIMEOUT_MS = 2_000
/** consecutive failed probes before a suspect is declared dead */
export const DEFAULT_PROBE_FAILURES = 3
