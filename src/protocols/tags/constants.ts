/** Provider records live under this namespace, so a tag key can never collide with content. */
export const TAG_KEY_PREFIX = 'mesh/tag/'
/** One provide walk; a walk still running after this is abandoned and retried later. */
export const PROVIDE_TIMEOUT_MS = 30_000
export const FIND_TIMEOUT_MS = 5_000
/** Provide again this soon after the first connections: the first walk found too few peers. */
export const EARLY_PROVIDE_DELAYS_MS = [500, 3_000, 10_000]
/**
 * After that, kad-dht's own reprovider keeps records alive (PROVIDER_REPROVIDE_* in node/constants);
 * this walk is a safety net for partitions, well inside the records' 10-minute validity. Every 60 s
 * it was the largest periodic cost of an idle mesh: 25 daemons started together walked in step,
 * a spike of about 1.5 cores every minute.
 */
export const PROVIDE_INTERVAL_MS = 5 * 60_000
/** ± this share of the interval, so a mesh started at once does not walk in step */
export const PROVIDE_JITTER = 0.2
export const MAX_PROVIDERS = 1_000
