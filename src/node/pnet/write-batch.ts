/**
 * The socket writes of one callback, sent as one. Every frame libp2p sends (a yamux header and its
 * data, a window update, a multistream-select line, each gossip forward) was its own `write(2)`,
 * and writes were a fifth of a busy daemon's CPU; in the throughput benchmark over half of the
 * dispatcher's writes went to a connection that had already been written to in the same turn.
 * A write waits only until the microtasks queued before it have run (`queueMicrotask`): frames
 * written in one go (a header and its data, several gossip forwards) leave together. Waiting for
 * the end of the event-loop turn (`setImmediate`, the first version) held every handshake and
 * gossip message behind all the other I/O of that turn: in a mass start of 50 daemons on 2 cores
 * a pair's first contact took 0.57–0.62 s (median) instead of 0.02–0.25 s (BENCHMARKS.md,
 * Optimisations).
 * A big batch, and everything once the socket is full, goes out at once.
 */
import { toError } from '../../errors.js'

export const WRITE_BATCH_BYTES = 64 * 1024

export class WriteBatch {
  private readonly sink: (data: Uint8Array) => boolean
  private readonly onError: (err: Error) => void
  private readonly maxBytes: number
  private parts: Uint8Array[] = []
  private bytes = 0
  /** a flush is queued as a microtask */
  private scheduled = false
  /** the socket said it holds enough: write through until it drains */
  private full = false

  /**
   * `sink` writes to the socket and says whether it takes more; `onError` gets what a deferred
   * write threw (the caller's own call stack is gone by then)
   */
  constructor (sink: (data: Uint8Array) => boolean, onError: (err: Error) => void, maxBytes = WRITE_BATCH_BYTES) {
    this.sink = sink
    this.onError = onError
    this.maxBytes = maxBytes
  }

  /** Queues `data` behind what is queued; false: the socket is full, send nothing more until `drained`. */
  write (data: Uint8Array): boolean {
    if (this.full || this.bytes + data.byteLength > this.maxBytes) {
      // order first: what is queued goes before `data`
      this.flush()
      return this.send(data)
    }
    this.parts.push(data)
    this.bytes += data.byteLength
    if (!this.scheduled) {
      this.scheduled = true
      queueMicrotask(this.flushLater)
    }
    return true
  }

  /** Sends what is queued now, as one write; false: the socket is full. */
  flush (): boolean {
    this.scheduled = false
    if (this.parts.length === 0) return !this.full
    const data = this.parts.length === 1 ? this.parts[0] as Uint8Array : Buffer.concat(this.parts, this.bytes)
    this.parts = []
    this.bytes = 0
    return this.send(data)
  }

  drained (): void {
    this.full = false
  }

  /** Drops what is queued: the connection is gone or reset. */
  discard (): void {
    this.scheduled = false
    this.parts = []
    this.bytes = 0
  }

  get queuedBytes (): number {
    return this.bytes
  }

  private send (data: Uint8Array): boolean {
    const more = this.sink(data)
    this.full = !more
    return more
  }

  private readonly flushLater = (): void => {
    // flushed already (a big write, a close) or discarded since it was queued. When a later write
    // queued its own microtask after such a flush, this one sends that write a little early: in
    // order, and its own microtask then finds nothing left.
    if (!this.scheduled) return
    try {
      this.flush()
    } catch (err) {
      this.discard()
      this.onError(toError(err))
    }
  }
}
