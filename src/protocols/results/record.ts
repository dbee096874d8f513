import { Ajv } from 'ajv'

export type TaskState = 'queued' | 'running' | 'succeeded' | 'failed' | 'timed_out' | 'cancelled' | 'lost' | 'rejected'

export const FINAL_STATES: ReadonlySet<TaskState> = new Set(['succeeded', 'failed', 'timed_out', 'cancelled', 'lost', 'rejected'])

/**
 * The result record of SPEC.md, plus what a mesh needs to route and order it: who dispatched it,
 * the runner's name, and `updatedAt` so a later record of the same attempt replaces an earlier one.
 */
export interface TaskRecord {
  id: string
  name: string
  state: TaskState
  exitCode: number | null
  runner: string | null
  runnerName: string | null
  numaNode: number | null
  attempt: number
  dispatcher: string
  /** for --all fan-outs: the id the user holds; equals `id` otherwise */
  group: string
  tags: string[]
  submittedAt: string
  startedAt: string | null
  finishedAt: string | null
  /** bounded tails; full logs come from `mesh logs` */
  stdout: string
  stderr: string
  error: string | null
  /** ms since epoch on the signer's clock; orders records of one attempt */
  updatedAt: number
}

const iso = { type: 'string', maxLength: 40, nullable: true } as const
// task ids (base36 time + hex, `-n` for --all children) and peer ids: printable, one word
const id = { type: 'string', maxLength: 128, pattern: '^[A-Za-z0-9._-]+$' } as const

// plain schema: ajv's JSONSchemaType cannot express required-but-nullable fields
const schema = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'name', 'state', 'exitCode', 'runner', 'runnerName', 'numaNode', 'attempt', 'dispatcher',
    'group', 'tags', 'submittedAt', 'startedAt', 'finishedAt', 'stdout', 'stderr', 'error', 'updatedAt'],
  properties: {
    id,
    name: { type: 'string', maxLength: 256 },
    state: { type: 'string', enum: ['queued', 'running', 'succeeded', 'failed', 'timed_out', 'cancelled', 'lost', 'rejected'] },
    exitCode: { type: 'integer', nullable: true, minimum: -1, maximum: 255 },
    runner: { ...id, nullable: true },
    runnerName: { type: 'string', maxLength: 128, nullable: true },
    numaNode: { type: 'integer', minimum: 0, maximum: 1024, nullable: true },
    attempt: { type: 'integer', minimum: 1, maximum: 1000 },
    dispatcher: id,
    group: id,
    tags: { type: 'array', maxItems: 64, items: { type: 'string', maxLength: 64 } },
    submittedAt: { type: 'string', maxLength: 40 },
    startedAt: iso,
    finishedAt: iso,
    stdout: { type: 'string', maxLength: 16 * 1024 },
    stderr: { type: 'string', maxLength: 16 * 1024 },
    error: { type: 'string', maxLength: 2048, nullable: true },
    updatedAt: { type: 'integer', minimum: 0 }
  }
} as const

export interface RecordValidator {
  (value: unknown): value is TaskRecord
  lastError: () => string
}

export function createRecordValidator (): RecordValidator {
  const validate = new Ajv().compile<TaskRecord>(schema)
  const fn = ((value: unknown) => validate(value)) as RecordValidator
  fn.lastError = () => {
    const e = validate.errors?.[0]
    return e == null ? 'invalid task record' : `record${e.instancePath.replaceAll('/', '.')}: ${e.message ?? 'invalid'}`
  }
  return fn
}

/**
 * Pure: does `next` replace `current` in a node's store? A higher attempt wins (a stale attempt's
 * late result must not overwrite the retry); within an attempt, a final state beats a non-final
 * one, then the later update wins.
 */
export function supersedes (current: TaskRecord | undefined, next: TaskRecord): boolean {
  if (current == null) return true
  if (next.attempt !== current.attempt) return next.attempt > current.attempt
  const nextFinal = FINAL_STATES.has(next.state)
  const curFinal = FINAL_STATES.has(current.state)
  if (nextFinal !== curFinal) return nextFinal
  return next.updatedAt > current.updatedAt
}

/**
 * Pure: is `next` consistent with the record held? The dispatcher of a task never changes, and
 * within an attempt the first runner to report owns it; otherwise any member could overwrite any
 * task's record by naming itself as its runner or dispatcher.
 */
export function consistent (current: TaskRecord | undefined, next: TaskRecord): string | null {
  if (current == null) return null
  if (next.dispatcher !== current.dispatcher) return `record of task ${next.id} names dispatcher ${next.dispatcher}, not ${current.dispatcher}`
  // the dispatcher's 'queued' announcement of an attempt arriving after its runner's record (late
  // gossip, sync) is stale, not a clash: supersedes() leaves the newer record in place
  if (next.attempt === current.attempt && current.runner != null && next.runner == null && next.state === 'queued') return null
  if (next.attempt === current.attempt && current.runner != null && next.runner !== current.runner) {
    return `record of task ${next.id} attempt ${next.attempt} names runner ${next.runner ?? 'none'}, not ${current.runner}`
  }
  return null
}

/** Keeps the last `max` characters of an output, marking the cut. */
export function tail (text: string, max: number): string {
  if (text.length <= max) return text
  const marker = '…[truncated]\n'
  return marker + text.slice(text.length - (max - marker.length))
}
