import { oneLine } from '../../protocols/peer-text.js'
import { BadReplyError, BadRequestError, LineTooLongError } from './errors.js'

/** The first and only line a client sends. */
export interface ControlRequest {
  method: string
  params?: unknown
}

/** What crosses the wire for a failed request; rebuilt as a MeshError by the client. */
export interface WireError {
  name: string
  message: string
  exitCode: number
}

/** Every line the server sends: one `result`, or `item`s closed by `end`, or one `error`. */
export type ControlReply =
  | { result: unknown }
  | { item: unknown }
  | { end: true }
  | { error: WireError }

const NEWLINE = 0x0a

/**
 * Splits a byte stream into lines, refusing to buffer more than `maxLineBytes` without a newline
 * (a hostile peer cannot make us hold an endless line). Decodes UTF-8 only once a line is whole,
 * so a multi-byte character split across chunks survives. Blank lines are skipped.
 */
export class LineDecoder {
  private readonly maxLineBytes: number
  private parts: Buffer[] = []
  private size = 0

  constructor (maxLineBytes: number) {
    this.maxLineBytes = maxLineBytes
  }

  /** @throws LineTooLongError */
  push (chunk: Buffer): string[] {
    const lines: string[] = []
    let start = 0
    let end = chunk.indexOf(NEWLINE)
    while (end !== -1) {
      this.take(chunk.subarray(start, end))
      const line = Buffer.concat(this.parts, this.size).toString('utf8')
      this.parts = []
      this.size = 0
      if (line.trim() !== '') lines.push(line)
      start = end + 1
      end = chunk.indexOf(NEWLINE, start)
    }
    if (start < chunk.length) this.take(chunk.subarray(start))
    return lines
  }

  private take (bytes: Buffer): void {
    if (this.size + bytes.length > this.maxLineBytes) throw new LineTooLongError(this.maxLineBytes)
    this.parts.push(bytes)
    this.size += bytes.length
  }
}

/** One message as one line. May throw (BigInt, cycles): callers treat that as a handler bug. */
export function encodeLine (message: ControlRequest | ControlReply): string {
  return JSON.stringify(message) + '\n'
}

/** @throws BadRequestError */
export function decodeRequest (line: string): ControlRequest {
  const value = parseObject(line, (detail) => new BadRequestError(detail))
  const { method, params } = value
  if (typeof method !== 'string' || method === '') {
    throw new BadRequestError('"method" must be a non-empty string')
  }
  return { method, params }
}

/** @throws BadReplyError */
export function decodeReply (line: string): ControlReply {
  const value = parseObject(line, (detail) => new BadReplyError(detail))
  if ('error' in value) return { error: decodeWireError(value.error) }
  if ('result' in value) return { result: value.result }
  if ('item' in value) return { item: value.item }
  if (value.end === true) return { end: true }
  throw new BadReplyError('expected one of "result", "item", "end", "error"')
}

function decodeWireError (value: unknown): WireError {
  if (typeof value !== 'object' || value === null) throw new BadReplyError('"error" must be an object')
  const { name, message, exitCode } = value as Record<string, unknown>
  if (typeof name !== 'string' || typeof message !== 'string') {
    throw new BadReplyError('"error" needs a string name and message')
  }
  return { name, message, exitCode: Number.isInteger(exitCode) ? exitCode as number : 1 }
}

function parseObject (line: string, fail: (detail: string) => Error): Record<string, unknown> {
  let value: unknown
  try {
    value = JSON.parse(line)
  } catch (err) {
    // V8 quotes the bad input in its message: keep it one printable line
    throw fail(`not JSON (${oneLine((err as Error).message, 160)})`)
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw fail('expected a JSON object')
  }
  return value as Record<string, unknown>
}
