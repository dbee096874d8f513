export const HEARTBEAT_TOPIC = '/mesh/heartbeat/1.0.0'
export const HEARTBEAT_DOMAIN = 'mesh-heartbeat'
export const HEARTBEAT_PAYLOAD_TYPE = new TextEncoder().encode('/mesh/heartbeat/1.0.0')
/** An advert of a big machine (256 cores, 8 NUMA nodes, 8 GPUs, 64 tags) stays well under this. */
export const MAX_HEARTBEAT_BYTES = 16 * 1024
/**
 * An unchanged advert is re-sent this often. Every advert reaches and is verified by every node, so
 * the mesh's idle cost grows with nodes² / interval (at 2 s, 25 daemons saturated 2 cores); a
 * change goes out within CHANGE_CHECK_MS instead, and crashes are caught by the failure detector.
 */
export const DEFAULT_HEARTBEAT_INTERVAL_MS = 15_000
/** how often the node compares its advert with the last one sent (a local check, no traffic) */
export const CHANGE_CHECK_MS = 1_000
/**
 * A peer this node had not heard (new, or back from offline) gets this node's advert within a
 * random delay up to this long, so a newcomer learns the mesh in about a second, not one interval;
 * the jitter spreads the answers of a big mesh, and greetings in one window share one advert.
 */
export const GREET_JITTER_MS = 1_000
/** How long the goodbye publish may hold up a shutdown. */
export const LEAVE_TIMEOUT_MS = 1_000
/** Adverts dated further ahead than this are clock-skewed or forged. */
export const MAX_CLOCK_SKEW_MS = 5 * 60_000
/** Adverts older than this are replays (gossipsub's seen-cache forgets after minutes). */
export const MAX_ADVERT_AGE_MS = 5 * 60_000

/**
 * Capacity changes within this window share one advert, and a change undone inside it (a short
 * task) sends none. Placement sees a change at most this late; a runner refuses a push it has no
 * room for, so a stale "free" costs one refused offer, and the dispatcher tries the next peer. At
 * 100 ms most tasks of a 25-host fan-out outlived the window and sent two adverts each, two thirds
 * of the fan-out's gossip.
 */
export const COALESCE_MS = 500

/**
 * A peer's advert is relayed to a node pulling the roster only if it was heard within this many
 * heartbeat intervals: a live peer re-sends within one, so an older advert may be of a peer that
 * has died, and relaying it would show a ghost online.
 */
export const RELAY_FRESH_INTERVALS = 1.5
/** adverts held for relaying; past this, a new peer's advert is not held (the peer table has its own bound) */
export const MAX_HELD_ADVERTS = 4096
