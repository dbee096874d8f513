import { ProtocolError } from '../frames.js'
import { MAX_RESULT_BYTES } from '../results/index.js'
import { MAX_REVOCATIONS_BYTES } from '../../node/trust/constants.js'
import { BUCKET_HASH_CHARS, BUCKETS, ITEMS_PER_FRAME, MAX_CONTROL_BYTES } from './constants.js'
import type { RecordKey, RecordVersion } from './index.js'
import type { TaskState } from '../results/index.js'

/**
 * Frames of a sync session: one kind byte, then JSON (hello, versions, wants) or raw bytes (a
 * signed record envelope, a signed revocation list). Each kind has its own size limit and a strict
 * shape; anything else is a ProtocolError naming what was wrong.
 */
export type Frame =
  | { kind: 'hello', revocations: number, buckets: string[] }
  | { kind: 'versions', versions: RecordVersion[] }
  | { kind: 'wants', keys: RecordKey[] }
  | { kind: 'record', envelope: Uint8Array }
  | { kind: 'revocations', list: Uint8Array }
  | { kind: 'end' }

export type FrameKind = Frame['kind']

const CODES: Record<FrameKind, number> = { hello: 1, versions: 2, wants: 3, record: 4, revocations: 5, end: 6 }
const KINDS = new Map<number, FrameKind>(Object.entries(CODES).map(([k, v]) => [v, k as FrameKind]))
const LIMITS: Record<FrameKind, number> = {
  hello: MAX_CONTROL_BYTES,
  versions: MAX_CONTROL_BYTES,
  wants: MAX_CONTROL_BYTES,
  record: MAX_RESULT_BYTES,
  revocations: MAX_REVOCATIONS_BYTES,
  end: 0
}
const STATES: ReadonlySet<string> = new Set<TaskState>(['queued', 'running', 'succeeded', 'failed', 'timed_out', 'cancelled', 'lost', 'rejected'])
const BUCKET_HASH = new RegExp(`^([0-9a-f]{${BUCKET_HASH_CHARS}})?$`)

export function encodeFrame (frame: Frame): Uint8Array {
  let body: Uint8Array
  switch (frame.kind) {
    case 'hello': body = json({ v: 1, revocations: frame.revocations, buckets: frame.buckets }); break
    case 'versions': body = json(frame.versions.map(v => [v.id, v.attempt, v.state, v.updatedAt])); break
    case 'wants': body = json(frame.keys.map(k => [k.id, k.attempt])); break
    case 'record': body = frame.envelope; break
    case 'revocations': body = frame.list; break
    case 'end': body = new Uint8Array(0); break
  }
  const out = new Uint8Array(body.byteLength + 1)
  out[0] = CODES[frame.kind]
  out.set(body, 1)
  return out
}

export function decodeFrame (bytes: Uint8Array): Frame {
  const kind = KINDS.get(bytes[0] ?? 0)
  if (kind == null) throw new ProtocolError(`sync frame: unknown kind ${bytes[0] ?? 'none'}`)
  const body = bytes.subarray(1)
  if (body.byteLength > LIMITS[kind]) throw new ProtocolError(`sync ${kind} frame: ${body.byteLength} bytes is over the ${LIMITS[kind]} byte limit`)
  switch (kind) {
    case 'hello': {
      const v = parse(body, kind) as { v?: unknown, revocations?: unknown, buckets?: unknown }
      if (typeof v !== 'object' || v === null || Array.isArray(v) || Object.keys(v).length !== 3 || v.v !== 1) throw bad(kind)
      if (!Number.isSafeInteger(v.revocations) || (v.revocations as number) < 0) throw bad(kind, 'revocations')
      if (!Array.isArray(v.buckets) || v.buckets.length !== BUCKETS || !v.buckets.every(b => typeof b === 'string' && BUCKET_HASH.test(b))) throw bad(kind, 'buckets')
      return { kind, revocations: v.revocations as number, buckets: v.buckets as string[] }
    }
    case 'versions': {
      const items = list(parse(body, kind), kind)
      return { kind, versions: items.map(t => version(t)) }
    }
    case 'wants': {
      const items = list(parse(body, kind), kind)
      return { kind, keys: items.map(t => key(t)) }
    }
    case 'record': return { kind, envelope: body }
    case 'revocations': return { kind, list: body }
    case 'end': return { kind }
  }
}

function json (value: unknown): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(value))
}

function parse (body: Uint8Array, kind: FrameKind): unknown {
  try {
    return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(body))
  } catch {
    throw new ProtocolError(`sync ${kind} frame: not valid JSON`)
  }
}

function bad (kind: FrameKind, field?: string): ProtocolError {
  return new ProtocolError(`sync ${kind} frame: does not match its schema${field != null ? ` (${field})` : ''}`)
}

function list (v: unknown, kind: FrameKind): unknown[] {
  if (!Array.isArray(v) || v.length > ITEMS_PER_FRAME) throw bad(kind, `an array of at most ${ITEMS_PER_FRAME} items`)
  return v
}

function isId (v: unknown): v is string {
  return typeof v === 'string' && v.length > 0 && v.length <= 128
}

function isAttempt (v: unknown): v is number {
  return Number.isInteger(v) && (v as number) >= 1 && (v as number) <= 1000
}

function version (t: unknown): RecordVersion {
  if (!Array.isArray(t) || t.length !== 4) throw bad('versions', '[id, attempt, state, updatedAt]')
  const [id, attempt, state, updatedAt] = t as unknown[]
  if (!isId(id) || !isAttempt(attempt) || typeof state !== 'string' || !STATES.has(state) || !Number.isSafeInteger(updatedAt) || (updatedAt as number) < 0) {
    throw bad('versions', '[id, attempt, state, updatedAt]')
  }
  return { id, attempt, state: state as TaskState, updatedAt: updatedAt as number }
}

function key (t: unknown): RecordKey {
  if (!Array.isArray(t) || t.length !== 2) throw bad('wants', '[id, attempt]')
  const [id, attempt] = t as unknown[]
  if (!isId(id) || !isAttempt(attempt)) throw bad('wants', '[id, attempt]')
  return { id, attempt }
}
