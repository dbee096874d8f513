export const LOGS_PROTOCOL = '/mesh/logs/1.0.0'
export const MAX_LOG_REQUEST_BYTES = 1024
export const MAX_LOG_FRAME_BYTES = 128 * 1024
export const REQUEST_TIMEOUT_MS = 10_000
/** a follower that stops reading for this long is cut off */
export const WRITE_TIMEOUT_MS = 60_000
/**
 * Concurrent log streams per connection, and per peer over all its connections. A dispatcher
 * follows the live output of every task it placed on a runner, each follower holding a stream: a
 * limit of 32 cut the live output of the 33rd task off on a bigger runner. The client queues past
 * MAX_LOG_STREAMS_PER_PEER (a queued follower reads from the start once its turn comes).
 */
export const MAX_INBOUND_LOG_STREAMS = 256
export const MAX_LOG_STREAMS_PER_PEER = 256
export const FRAME_END = 0
export const FRAME_STDOUT = 1
export const FRAME_STDERR = 2
