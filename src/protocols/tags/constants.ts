/** Provider records live under this namespace, so a tag key can never collide with content. */
export const TAG_KEY_PREFIX = 'mesh/tag/'
/** One provide walk; a walk still running after this is abandoned and retried later. */
export const PROVIDE_TIMEOUT_MS = 30_000
export const FIND_TIMEOUT_MS = 5_000
/** Provide again this soon after the first connections: the first walk found too few peers. */
export const EARLY_PROVIDE_DELAYS_MS = [500, 3_000, 10_000]
/** After that, kad-dht's own reprovider keeps records alive; this is a safety net for partitions. */
export const PROVIDE_INTERVAL_MS = 60_000
export const MAX_PROVIDERS = 1_000
