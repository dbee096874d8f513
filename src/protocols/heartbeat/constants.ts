export const HEARTBEAT_TOPIC = '/mesh/heartbeat/1.0.0'
export const HEARTBEAT_DOMAIN = 'mesh-heartbeat'
export const HEARTBEAT_PAYLOAD_TYPE = new TextEncoder().encode('/mesh/heartbeat/1.0.0')
/** An advert of a big machine (256 cores, 8 NUMA nodes, 8 GPUs, 64 tags) stays well under this. */
export const MAX_HEARTBEAT_BYTES = 16 * 1024
export const DEFAULT_HEARTBEAT_INTERVAL_MS = 2_000
/** How long the goodbye publish may hold up a shutdown. */
export const LEAVE_TIMEOUT_MS = 1_000
/** Adverts dated further ahead than this are clock-skewed or forged. */
export const MAX_CLOCK_SKEW_MS = 5 * 60_000
/** Adverts older than this are replays (gossipsub's seen-cache forgets after minutes). */
export const MAX_ADVERT_AGE_MS = 5 * 60_000

/** capacity changes within this window share one advert (placement sees them at most this late) */
export const COALESCE_MS = 100
