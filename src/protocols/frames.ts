import { lpStream } from '@libp2p/utils'
import type { AbortOptions, Stream } from '@libp2p/interface'

/**
 * Length-prefixed JSON and byte frames over one libp2p stream, with a size limit on every frame.
 * Every protocol of mesh speaks through this, so limits and decoding errors behave the same way.
 */
export class ProtocolError extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'ProtocolError'
  }
}

export interface Frames {
  readJson: <T>(validate: (v: unknown) => v is T, what: string, options: AbortOptions) => Promise<T>
  readBytes: (options: AbortOptions) => Promise<Uint8Array>
  writeJson: (value: unknown, options: AbortOptions) => Promise<void>
  writeBytes: (bytes: Uint8Array, options: AbortOptions) => Promise<void>
  stream: Stream
}

export function frames (stream: Stream, maxBytes: number): Frames {
  const lp = lpStream(stream, { maxDataLength: maxBytes })
  return {
    stream,
    async readJson (validate, what, options) {
      const bytes = (await lp.read(options)).subarray()
      let value: unknown
      try {
        value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes))
      } catch {
        throw new ProtocolError(`${what}: not valid JSON`)
      }
      if (!validate(value)) throw new ProtocolError(`${what}: does not match its schema`)
      return value
    },
    async readBytes (options) {
      return (await lp.read(options)).subarray()
    },
    async writeJson (value, options) {
      await lp.write(new TextEncoder().encode(JSON.stringify(value)), options)
    },
    async writeBytes (bytes, options) {
      await lp.write(bytes, options)
    }
  }
}
