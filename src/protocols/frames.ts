import { lpStream } from '@libp2p/utils'
import type { AbortOptions, Stream } from '@libp2p/interface'

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

export function frames (stream: Stream, maxBytes: number): Frames {
  const lp = lpStream(stream, { maxDataLength: maxBytes, lengthDecoder: lengthDecoder(maxBytes) })
  const read = async (what: string, options: AbortOptions): Promise<Uint8Array> => {
    try {
      return (await lp.read(options)).subarray()
    } catch (err) {
      throw readError(err, what, maxBytes, options.signal)
    }
  }
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
  if (name === 'StreamBufferError') return new ProtocolError(`${what}: the peer sent more than the stream buffer holds`, { cause: err })
  const message = typeof e?.message === 'string' && e.message !== '' ? e.message.split('\n')[0]?.slice(0, 200) : name || 'unknown error'
  return new ProtocolError(`${what}: stream failed (${message})`, { cause: err })
}
