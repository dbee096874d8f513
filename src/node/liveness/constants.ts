/**
 * Failure-detection defaults (docs/reliability.md, "Failure detection"). A SIGKILLed daemon closes
 * its TCP connections at once and refuses redials, so it is dead after about
 * (DEFAULT_PROBE_FAILURES - 1) × DEFAULT_PROBE_INTERVAL_MS; a peer that merely stalls has to stay
 * silent for suspectAfter + failures × timeout (about 11 s) before it is declared dead.
 */

/** silence (no heartbeat) that makes a peer suspect, as a multiple of the heartbeat interval */
export const SUSPECT_AFTER_HEARTBEATS = 2.5
export const DEFAULT_SUSPECT_AFTER_MS = 5_000
/** a suspect is probed this often (a probe still running delays the next one) */
export const DEFAULT_PROBE_INTERVAL_MS = 1_000
export const DEFAULT_PROBE_TIMEOUT_MS = 2_000
/** consecutive failed probes before a suspect is declared dead */
export const DEFAULT_PROBE_FAILURES = 3
