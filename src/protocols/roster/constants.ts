import { MAX_HEARTBEAT_BYTES } from '../heartbeat/constants.js'

export const ROSTER_PROTOCOL = '/mesh/roster/1.0.0'
/** adverts in one exchange, either way: a mesh this size is far past what the heartbeat topic carries */
export const MAX_ROSTER_PEERS = 1024
/** the `have` list: MAX_ROSTER_PEERS × (52-character peer id + 16-digit seq + punctuation) fits */
export const MAX_HAVE_BYTES = 128 * 1024
/** the largest frame: the `have` list or one advert envelope */
export const MAX_FRAME_BYTES = Math.max(MAX_HAVE_BYTES, MAX_HEARTBEAT_BYTES)
/** one whole exchange */
export const EXCHANGE_TIMEOUT_MS = 10_000
/**
 * after a connection opens, before pulling (± half): the connection's other streams (identify,
 * gossipsub's) go first, and connections opened together do not pull at the same instant
 */
export const CONNECT_DELAY_MS = 200
/** a second trigger for the same peer within this long is skipped */
export const MIN_GAP_MS = 10_000
/** exchanges one peer may start here per minute; more are refused before any work */
export const INBOUND_PER_MINUTE = 10
export const MAX_INBOUND_STREAMS = 4
