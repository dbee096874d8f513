export const FILE_PROTOCOL = '/mesh/file/1.0.0'
/** a request names one hash; the reply says whether bytes follow */
export const MAX_REQUEST_BYTES = 1024
/** files this node sends at once, to all peers together; past it a request is told "busy" */
export const MAX_UPLOADS = 4
export const MAX_INBOUND_FILE_STREAMS = 16
export const MAX_FILE_STREAMS_PER_PEER = 4
export const REQUEST_TIMEOUT_MS = 15_000
/** file bytes travel in frames of at most this size (push and file protocols alike) */
export const FILE_CHUNK_BYTES = 1024 * 1024
/** per file chunk: a stalled transfer is abandoned after this */
export const CHUNK_TIMEOUT_MS = 30_000
