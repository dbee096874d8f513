import { Ajv } from 'ajv'
import { oneLine } from '../peer-text.js'

export interface OfferedFile {
  dest: string
  sha256: string
  size: number
  mode: number
  /** hard-linked from the runner's cache without write bits, not copied (absent: a writable copy) */
  readOnly?: true
}

/**
 * A task as it crosses the wire: its own schema, not the task file's, so the file format can grow
 * without changing the protocol. File bytes are not in it; the runner asks for the hashes it lacks.
 */
export interface TaskOffer {
  v: 1
  id: string
  group: string
  attempt: number
  dispatcher: string
  submittedAt: string
  name: string
  command: string[] | string
  shell: boolean
  env: Record<string, string>
  cwd: string | null
  tags: string[]
  resources: { cores: number, memoryMB: number, gpus: number, numa: 'any' | 'none' | number }
  timeoutSec: number
  files: OfferedFile[]
}

/**
 * The frame that carries an offer: the body as the exact bytes the dispatcher signed, the signed
 * task envelope over them, and the dispatcher's certificate (authority mode).
 */
export interface OfferFrame {
  body: string
  auth: string
  cert: string | null
}

export function isOfferFrame (v: unknown): v is OfferFrame {
  const f = v as OfferFrame | null
  return typeof f === 'object' && f !== null && Object.keys(f).length === 3 &&
    typeof f.body === 'string' && typeof f.auth === 'string' && f.auth.length <= 16_384 &&
    (f.cert === null || (typeof f.cert === 'string' && f.cert.length <= 16_384))
}

export type OfferReply =
  | { status: 'rejected', reason: string }
  | { status: 'reserved', numaNode: number | null, missing: string[] }

export type FinalReply =
  | { status: 'accepted', numaNode: number | null }
  | { status: 'rejected', reason: string }

// numeric bounds are the task file's (schema/task.schema.json): a peer that skips the CLI gets no more
const str = (maxLength: number) => ({ type: 'string', maxLength } as const)

const offerSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['v', 'id', 'group', 'attempt', 'dispatcher', 'submittedAt', 'name', 'command', 'shell', 'env', 'cwd', 'tags', 'resources', 'timeoutSec', 'files'],
  properties: {
    v: { const: 1 },
    id: str(128),
    group: str(128),
    attempt: { type: 'integer', minimum: 1, maximum: 1000 },
    dispatcher: str(128),
    submittedAt: str(40),
    name: str(256),
    command: {
      anyOf: [
        { type: 'array', minItems: 1, maxItems: 4096, items: str(65536) },
        { type: 'string', minLength: 1, maxLength: 65536 }
      ]
    },
    shell: { type: 'boolean' },
    env: { type: 'object', maxProperties: 1024, additionalProperties: str(65536) },
    cwd: { anyOf: [str(4096), { type: 'null' }] },
    tags: { type: 'array', maxItems: 64, items: str(64) },
    resources: {
      type: 'object',
      additionalProperties: false,
      required: ['cores', 'memoryMB', 'gpus', 'numa'],
      properties: {
        cores: { type: 'integer', minimum: 0, maximum: 4096 },
        memoryMB: { type: 'integer', minimum: 0, maximum: 16_777_216 },
        gpus: { type: 'integer', minimum: 0, maximum: 64 },
        numa: { anyOf: [{ enum: ['any', 'none'] }, { type: 'integer', minimum: 0, maximum: 1023 }] }
      }
    },
    timeoutSec: { type: 'integer', minimum: 1, maximum: 604_800 },
    files: {
      type: 'array',
      maxItems: 1024,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['dest', 'sha256', 'size', 'mode'],
        properties: {
          dest: str(4096),
          sha256: { type: 'string', pattern: '^[0-9a-f]{64}$' },
          size: { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER },
          mode: { type: 'integer', minimum: 0, maximum: 0o7777 },
          readOnly: { const: true }
        }
      }
    }
  }
} as const

const replySchema = {
  type: 'object',
  required: ['status'],
  properties: {
    status: { enum: ['rejected', 'reserved', 'accepted'] },
    reason: str(2048),
    numaNode: { anyOf: [{ type: 'integer', minimum: 0, maximum: 1023 }, { type: 'null' }] },
    missing: { type: 'array', maxItems: 1024, items: { type: 'string', pattern: '^[0-9a-f]{64}$' } }
  }
} as const

export interface Validators {
  offer: (v: unknown) => v is TaskOffer
  offerReply: (v: unknown) => v is OfferReply
  finalReply: (v: unknown) => v is FinalReply
}

export function createValidators (): Validators {
  const ajv = new Ajv()
  const offer = ajv.compile<TaskOffer>(offerSchema)
  const reply = ajv.compile(replySchema)
  const isReply = (v: unknown): boolean => {
    if (!reply(v)) return false
    const r = v as { status: string, reason?: unknown, missing?: unknown, numaNode?: unknown }
    if (r.status === 'rejected') return typeof r.reason === 'string'
    if (r.status === 'reserved') return Array.isArray(r.missing) && r.numaNode !== undefined
    return r.numaNode !== undefined
  }
  return {
    offer: (v): v is TaskOffer => offer(v),
    offerReply: (v): v is OfferReply => isReply(v) && (v as { status: string }).status !== 'accepted',
    finalReply: (v): v is FinalReply => isReply(v) && (v as { status: string }).status !== 'reserved'
  }
}

/** A reply as the dispatcher passes it on: the runner's reason is shown to people, so one clean line. */
export function fromPeer<T extends OfferReply | FinalReply> (reply: T): T {
  return reply.status === 'rejected' ? { ...reply, reason: oneLine(reply.reason) } : reply
}

/**
 * 1.1.0, dispatcher → runner, before each missing file: where it comes from (`from` null: its bytes
 * follow on this stream; else the peer id to fetch it from), or a notice that a source is awaited.
 */
export type FileHeader =
  | { sha256: string, from: string | null }
  | { waiting: true }

/** 1.1.0, runner → dispatcher, after each file: held now, or why not (a peer source failed). */
export interface FileResult {
  sha256: string
  ok: boolean
  reason?: string
}

const SHA256 = /^[0-9a-f]{64}$/
const PEER_ID = /^[1-9A-HJ-NP-Za-km-z]{32,128}$/

export function isFileHeader (v: unknown): v is FileHeader {
  const h = v as { sha256?: unknown, from?: unknown, waiting?: unknown } | null
  if (typeof h !== 'object' || h === null) return false
  if (h.waiting === true) return Object.keys(h).length === 1
  return Object.keys(h).length === 2 && typeof h.sha256 === 'string' && SHA256.test(h.sha256) &&
    (h.from === null || (typeof h.from === 'string' && PEER_ID.test(h.from)))
}

export function isFileResult (v: unknown): v is FileResult {
  const r = v as { sha256?: unknown, ok?: unknown, reason?: unknown } | null
  return typeof r === 'object' && r !== null && typeof r.sha256 === 'string' && SHA256.test(r.sha256) && typeof r.ok === 'boolean' &&
    (r.reason === undefined || (typeof r.reason === 'string' && r.reason.length <= 2048))
}
