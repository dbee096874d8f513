/**
 * 1.3.0: as 1.2.0, and an offer's files may be marked readOnly (the runner links them from its
 * cache); a runner of an older version is offered the same files without the mark, and copies them.
 * 1.2.0: as 1.1.0, and the stream stays open after the runner's last word for the dispatcher's next
 * offer to that runner (the dispatcher ends it by closing its side). 1.1.0: each missing file is
 * announced by a header naming its source (the dispatcher's bytes or a peer that holds it) and
 * answered with a result. 1.0.0: the dispatcher sends every missing file itself. The older ones are
 * still spoken, so a mesh can be upgraded one machine at a time.
 */
export const PUSH_PROTOCOL = '/mesh/push/1.3.0'
export const PUSH_PROTOCOL_1_2 = '/mesh/push/1.2.0'
export const PUSH_PROTOCOL_1_1 = '/mesh/push/1.1.0'
export const PUSH_PROTOCOL_1_0 = '/mesh/push/1.0.0'
export const PUSH_PROTOCOLS = [PUSH_PROTOCOL, PUSH_PROTOCOL_1_2, PUSH_PROTOCOL_1_1, PUSH_PROTOCOL_1_0]
/** the versions whose stream stays open after an offer for the next one (1.2.0 and later) */
export const keepsStream = (protocol: string | undefined): boolean => protocol === PUSH_PROTOCOL || protocol === PUSH_PROTOCOL_1_2
/**
 * 1.2.0 and later: a dispatcher keeps at most this many streams per runner open between offers, each for at
 * most PUSH_STREAM_IDLE_MS; a runner waits PUSH_STREAM_WAIT_MS for the next offer (well beyond the
 * dispatcher's idle time, so a runner never closes a stream an offer is on its way over)
 */
export const MAX_IDLE_PUSH_STREAMS = 4
export const PUSH_STREAM_IDLE_MS = 10_000
export const PUSH_STREAM_WAIT_MS = 60_000
/** a task offer carries the spec (env, argv) and the file manifest, never file bytes */
export const MAX_OFFER_BYTES = 256 * 1024
export const PUSH_TIMEOUT_MS = 15_000
export const MAX_INBOUND_PUSH_STREAMS = 64
/** concurrent offers from one peer, over all its connections (each may hold a 1 MiB frame) */
export const MAX_PUSH_STREAMS_PER_PEER = 16
/**
 * Offers a dispatcher has in flight to one runner; more wait their turn at the dispatcher. Below
 * MAX_PUSH_STREAMS_PER_PEER less the idle kept streams (which hold a runner's slots too), with room
 * for streams that ended here but not yet on the runner.
 */
export const MAX_PUSHES_IN_FLIGHT_PER_RUNNER = 8
/** while the dispatcher waits for a free source of a file, it tells the runner this often */
export const SOURCE_WAIT_NOTICE_MS = 5_000
/**
 * A runner reports each file it fetched from a peer within this long, at the least (more for a big
 * file: the slowest rate assumed is MIN_RELAY_BYTES_PER_S); its own per-chunk deadline fires first
 */
export const MIN_RELAY_BYTES_PER_S = 64 * 1024
/** headers a runner accepts per missing file: one source, a fallback, and a few waiting notices in between are fine */
export const MAX_HEADERS_PER_FILE = 1000
/**
 * The final reply comes after the runner copied the task's files into its work dir: its deadline
 * grows by the files' size at this rate (ten runners copying 256 MiB each at once on one disk took
 * longer than the fixed 15 s, and their pushes failed although the copies were fine)
 */
export const MIN_COPY_BYTES_PER_S = 16 * 1024 * 1024
