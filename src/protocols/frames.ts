import { lpStream } from '@libp2p/utils'
import type { AbortOptions, Stream } from '@libp2p/interface'

/** what lpStream reads: a frame as a list of the buffers it arrived in */
type FrameList = Awaited<ReturnType<ReturnType<typeof lpStream>['read']>>

/**
 * Length-prefixed JSON and byte frames over one libp2p stream, with a size limit on every frame.
 * Every protocol of mesh speaks through this, so limits and decoding errors behave the same way:
 * whatever a peer sends, a read ends with a frame or a one-line ProtocolError.
 */
export class ProtocolError extends Error {
  constructor (message: string, options?: ErrorOptions) {
    super(message, options)
    this.name = 'ProtocolError'
  }
}

export interface Frames {
  readJson: <T>(validate: (v: unknown) => v is T, what: string, options: AbortOptions) => Promise<T>
  /** `what` names the frame in a ProtocolError ("file chunk") */
  readBytes: (options: AbortOptions, what?: string) => Promise<Uint8Array>
  /** a byte frame as the parts it arrived in: no copy into one buffer (file bytes, hashed and written part by part) */
  readParts: (options: AbortOptions, what?: string) => Promise<Uint8Array[]>
  writeJson: (value: unknown, options: AbortOptions) => Promise<void>
  writeBytes: (bytes: Uint8Array, options: AbortOptions) => Promise<void>
  stream: Stream
}

/** Bytes of the varint length prefix that can express `maxBytes` (7 bits a byte). */
export function maxPrefixBytes (maxBytes: number): number {
  let n = 1
  for (let v = Math.floor(maxBytes / 128); v > 0; v = Math.floor(v / 128)) n++
  return n
}

/**
 * Decodes the unsigned varint length prefix. lpStream asks again after each byte while this throws
 * a RangeError (incomplete); any other error ends the read. Without the cap a peer sending endless
 * continuation bytes (0x80 0x80 …) kept the read spinning, and the prefix growing, until the deadline.
 */
function lengthDecoder (maxBytes: number): (buf: { byteLength: number, get: (i: number) => number }) => number {
  const maxLength = maxPrefixBytes(maxBytes)
  return (buf) => {
    let value = 0
    for (let i = 0; i < buf.byteLength; i++) {
      if (i >= maxLength) break
      const b = buf.get(i)
      value += (b & 0x7f) * 2 ** (7 * i)
      if (b < 0x80) return value
    }
    if (buf.byteLength >= maxLength) throw new ProtocolError(`frame length prefix is longer than ${maxLength} bytes (a frame holds at most ${maxBytes} bytes)`)
    throw new RangeError('incomplete length prefix')
  }
}

/**
 * The most a muxed stream may have in flight to us (yamux's window, set in node/libp2p.ts): what
 * still arrives after a pause. Yamux (v8) grants window on receipt, not on consumption, so only a
 * paused stream stops its sender.
 */
export const STREAM_WINDOW_BYTES = 2 * 1024 * 1024
/** unread bytes past one whole frame at which the stream is paused */
const PAUSE_SLACK_BYTES = 256 * 1024

/**
 * Backpressure: libp2p's byteStream buffers whatever arrives and aborts the stream past its limit,
 * so a reader slower than the network (file chunks written to a slow disk) lost the push with "the
 * peer sent more than the stream buffer holds". The stream is paused while more than a frame and a
 * bit is unread and resumed when it is not: at most that plus one window is ever held.
 */
function pauseWhenFull (stream: Stream, highWater: number): { consumed: (frameBytes: number) => void } {
  let unread = 0
  let pausing = false
  const pauseIfFull = (): void => {
    pausing = false
    if (unread > highWater && stream.readStatus === 'readable') stream.pause()
  }
  stream.addEventListener('message', (evt) => {
    unread += evt.data.byteLength
    // not from inside the event: resume() dispatches what it held, then tells the muxer to send
    // window again, which would undo a pause made during that dispatch (libp2p 3.3)
    if (unread > highWater && !pausing) {
      pausing = true
      queueMicrotask(pauseIfFull)
    }
  })
  return {
    consumed: (frameBytes) => {
      unread -= maxPrefixBytes(frameBytes) + frameBytes
      if (unread <= highWater && stream.readStatus === 'paused') stream.resume()
    }
  }
}

export function frames (stream: Stream, maxBytes: number): Frames {
  const highWater = maxPrefixBytes(maxBytes) + maxBytes + PAUSE_SLACK_BYTES
  const flow = pauseWhenFull(stream, highWater)
  const lp = lpStream(stream, { maxDataLength: maxBytes, lengthDecoder: lengthDecoder(maxBytes), maxBufferSize: highWater + 2 * STREAM_WINDOW_BYTES })
  const readList = async (what: string, options: AbortOptions): Promise<FrameList> => {
    try {
      const frame = await lp.read(options)
      flow.consumed(frame.byteLength)
      return frame
    } catch (err) {
      throw readError(err, what, maxBytes, options.signal)
    }
  }
  const read = async (what: string, options: AbortOptions): Promise<Uint8Array> => (await readList(what, options)).subarray()
  return {
    stream,
    async readJson (validate, what, options) {
      const bytes = await read(what, options)
      let value: unknown
      try {
        value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes))
      } catch {
        throw new ProtocolError(`${what}: not valid JSON`)
      }
      if (!validate(value)) throw new ProtocolError(`${what}: does not match its schema`)
      return value
    },
    async readBytes (options, what = 'frame') {
      return read(what, options)
    },
    async readParts (options, what = 'frame') {
      return [...await readList(what, options)]
    },
    async writeJson (value, options) {
      await lp.write(new TextEncoder().encode(JSON.stringify(value)), options)
    },
    async writeBytes (bytes, options) {
      await lp.write(bytes, options)
    }
  }
}

/** One line saying why a frame could not be read, whatever layer failed. */
function readError (err: unknown, what: string, maxBytes: number, signal: AbortSignal | undefined): ProtocolError {
  if (err instanceof ProtocolError) return new ProtocolError(`${what}: ${err.message}`, { cause: err })
  const e = err as { name?: unknown, message?: unknown } | null
  const name = typeof e?.name === 'string' ? e.name : ''
  if (signal?.aborted === true) {
    const reason = signal.reason as { name?: unknown } | undefined
    return new ProtocolError(reason?.name === 'TimeoutError' ? `${what}: timed out waiting for the peer` : `${what}: aborted`, { cause: err })
  }
  if (name === 'InvalidDataLengthError') {
    const size = /(\d+) >/.exec(String(e?.message))?.[1]
    return new ProtocolError(`${what}: frame${size != null ? ` of ${size} bytes` : ''} is over the ${maxBytes} byte limit`, { cause: err })
  }
  if (name === 'InvalidDataLengthLengthError' || name === 'InvalidMessageLengthError') return new ProtocolError(`${what}: bad frame length prefix`, { cause: err })
  if (name === 'UnexpectedEOFError') return new ProtocolError(`${what}: the peer closed the stream before a whole frame`, { cause: err })
  if (name === 'StreamBufferError') return new ProtocolError(`${what}: the peer sent more than the stream buffer holds (${String(e?.message).slice(0, 120)})`, { cause: err })
  const message = typeof e?.message === 'string' && e.message !== '' ? e.message.split('\n')[0]?.slice(0, 200) : name || 'unknown error'
  return new ProtocolError(`${what}: stream failed (${message})`, { cause: err })
}
