export const PUSH_PROTOCOL = '/mesh/push/1.0.0'
/** a task offer carries the spec (env, argv) and the file manifest, never file bytes */
export const MAX_OFFER_BYTES = 256 * 1024
/** file bytes travel in frames of at most this size */
export const FILE_CHUNK_BYTES = 1024 * 1024
export const PUSH_TIMEOUT_MS = 15_000
/** per file chunk: a stalled transfer is abandoned after this */
export const CHUNK_TIMEOUT_MS = 30_000
export const MAX_INBOUND_PUSH_STREAMS = 64
/** concurrent offers from one peer, over all its connections (each may hold a 1 MiB frame) */
export const MAX_PUSH_STREAMS_PER_PEER = 16
