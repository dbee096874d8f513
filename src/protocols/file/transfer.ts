import { anySignal } from 'any-signal'
import { CHUNK_TIMEOUT_MS, FILE_CHUNK_BYTES } from './constants.js'
import type { Frames } from '../frames.js'

/** Sends a file's bytes as frames of at most FILE_CHUNK_BYTES, each with its own deadline. */
export async function sendFile (f: Frames, chunks: AsyncIterable<Uint8Array>, signal?: AbortSignal): Promise<void> {
  for await (const chunk of chunks) {
    for (let off = 0; off < chunk.byteLength; off += FILE_CHUNK_BYTES) {
      const part = chunk.subarray(off, off + FILE_CHUNK_BYTES)
      const s = anySignal([signal, AbortSignal.timeout(CHUNK_TIMEOUT_MS)])
      try { await f.writeBytes(part, { signal: s }) } finally { s.clear() }
    }
  }
}

/** Reads `size` bytes of file frames; a stall past CHUNK_TIMEOUT_MS ends it. The caller checks the hash. */
export async function * receiveFile (f: Frames, size: number, signal?: AbortSignal): AsyncGenerator<Uint8Array> {
  let received = 0
  while (received < size) {
    const s = anySignal([signal, AbortSignal.timeout(CHUNK_TIMEOUT_MS)])
    try {
      // the frame's parts as they arrived: a 1 MiB frame copied into one buffer first was a
      // megabyte of garbage per megabyte received, and the collector's work
      const parts = await f.readParts({ signal: s }, 'file chunk')
      let bytes = 0
      for (const part of parts) bytes += part.byteLength
      if (bytes === 0) throw new Error('empty file frame')
      received += bytes
      yield * parts
    } finally {
      s.clear()
    }
  }
}
