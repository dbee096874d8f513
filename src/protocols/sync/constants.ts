import { MAX_REVOCATIONS_BYTES } from '../../node/trust/constants.js'

export const SYNC_PROTOCOL = '/mesh/sync/1.0.0'
/** versions are spread over this many buckets by a hash of the task id; a digest is one hash per bucket */
export const BUCKETS = 256
/** hex characters kept of each bucket's SHA-256 (64 bits: a collision only delays a bucket to a later sync) */
export const BUCKET_HASH_CHARS = 16
/** the largest frame a session carries: a revocation list and its kind byte */
export const MAX_FRAME_BYTES = MAX_REVOCATIONS_BYTES + 16
/** hello, versions and wants frames */
export const MAX_CONTROL_BYTES = 128 * 1024
/** items per versions or wants frame: 400 × (128-char id + tuple) stays under MAX_CONTROL_BYTES */
export const ITEMS_PER_FRAME = 400
/** versions a peer may list in one session (its retention of records and attempts is 2 × 10,000) */
export const MAX_VERSIONS = 50_000
/** records asked for in one session; the rest come in a follow-up session */
export const MAX_WANTS = 2_000
/** record bytes sent in one session; the rest come in a follow-up session */
export const MAX_SESSION_BYTES = 32 * 1024 * 1024
/** every read and write of one frame */
export const FRAME_TIMEOUT_MS = 10_000
/** a whole session */
export const SESSION_TIMEOUT_MS = 120_000
/** one random connected peer this often (± JITTER), besides every new connection */
export const SYNC_INTERVAL_MS = 60_000
export const JITTER = 0.2
/** after a connection opens: let identify and the first heartbeat (membership) arrive first */
export const CONNECT_DELAY_MS = 1_000
/** tries on a new connection while the peer is not (yet) known as a member: its heartbeat brings the certificate */
export const CONNECT_TRIES = 5
/** a triggered session is skipped when one with the same peer ended this recently (both sides triggered) */
export const MIN_GAP_MS = 2_000
/** a session cut short by MAX_WANTS or MAX_SESSION_BYTES is continued after this */
export const FOLLOW_UP_DELAY_MS = 500
/** sessions one peer may start here per minute; more are refused before any work */
export const INBOUND_PER_MINUTE = 10
/** inbound sessions at once, all peers together */
export const MAX_INBOUND_SESSIONS = 8
export const MAX_INBOUND_STREAMS = 4
