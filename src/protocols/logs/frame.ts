import { ProtocolError } from '../frames.js'
import { FRAME_END, FRAME_STDERR, FRAME_STDOUT, MAX_LOG_FRAME_BYTES } from './constants.js'
import type { LogChunk } from '../../node/runner/log-reader.js'

/**
 * The messages of the logs protocol, apart from the stream that carries them so they can be
 * checked on their own: the request, and the typed frames of the answer.
 *
 *   request  {"taskId": string ≤ 128, "follow": boolean}
 *   frame    [1|bytes] stdout  [2|bytes] stderr  [0|{"found": boolean}] end
 */
export interface LogRequest { taskId: string, follow: boolean }

export function isLogRequest (v: unknown): v is LogRequest {
  const r = v as LogRequest | null
  return typeof r === 'object' && r !== null && !Array.isArray(r) && typeof r.taskId === 'string' && r.taskId.length <= 128 &&
    typeof r.follow === 'boolean' && Object.keys(r).length === 2
}

export type LogFrame = LogChunk | { end: true, found: boolean }

/** Decodes one frame of the answer; throws a one-line ProtocolError for anything else. */
export function decodeLogFrame (frame: Uint8Array): LogFrame {
  const kind = frame[0]
  const body = frame.subarray(1)
  if (kind === FRAME_STDOUT) return { stream: 'stdout', data: body }
  if (kind === FRAME_STDERR) return { stream: 'stderr', data: body }
  if (kind === FRAME_END) {
    let end: unknown
    try {
      end = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(body))
    } catch {
      throw new ProtocolError('log end frame: not valid JSON')
    }
    const found = (end as { found?: unknown } | null)?.found
    if (typeof found !== 'boolean') throw new ProtocolError('log end frame: does not match its schema')
    return { end: true, found }
  }
  throw new ProtocolError(kind == null ? 'log frame: empty' : `log frame: unknown type ${kind}`)
}

/** Splits log chunks into frames: a type byte (stdout/stderr) and at most a frame's worth of data. */
export async function * toFrames (source: AsyncIterable<LogChunk>): AsyncGenerator<Uint8Array> {
  for await (const chunk of source) {
    for (let off = 0; off < chunk.data.byteLength; off += MAX_LOG_FRAME_BYTES - 1) {
      const part = chunk.data.subarray(off, off + MAX_LOG_FRAME_BYTES - 1)
      const frame = new Uint8Array(part.byteLength + 1)
      frame[0] = chunk.stream === 'stdout' ? FRAME_STDOUT : FRAME_STDERR
      frame.set(part, 1)
      yield frame
    }
  }
}
