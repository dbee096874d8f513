import type { RecordValidator, TaskRecord } from '../../protocols/results/index.js'

/**
 * What the store keeps per record: the record and, when it came signed, the envelope it came in —
 * the bytes another node needs to verify it when this node relays it (sync).
 *
 *   value = {"record":{…},"envelope":"<base64>"}      (envelope absent: not relayable)
 *   value = {…record…}                                 (stored before envelopes were kept)
 */
export interface StoredRecord {
  record: TaskRecord
  envelope?: Uint8Array
}

export function encodeStored (stored: StoredRecord): string {
  return JSON.stringify(stored.envelope == null
    ? { record: stored.record }
    : { record: stored.record, envelope: Buffer.from(stored.envelope).toString('base64') })
}

/** Throws with the reason when the value is neither shape. */
export function decodeStored (value: string, validate: RecordValidator): StoredRecord {
  const parsed: unknown = JSON.parse(value)
  if (typeof parsed !== 'object' || parsed === null) throw new Error('not a JSON object')
  // the old shape is the bare record, which always has an id
  if (!('record' in parsed) || 'id' in parsed) {
    if (!validate(parsed)) throw new Error(validate.lastError())
    return { record: parsed }
  }
  const { record, envelope } = parsed as { record: unknown, envelope?: unknown }
  if (!validate(record)) throw new Error(validate.lastError())
  if (envelope == null) return { record }
  if (typeof envelope !== 'string') throw new Error('envelope is not a base64 string')
  const bytes = Buffer.from(envelope, 'base64')
  return { record, envelope: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength) }
}

/** The key of an older attempt in the 'attempts' sublevel: `<id>/<attempt>`. */
export function attemptKey (id: string, attempt: number): string {
  return `${id}/${attempt}`
}

export function parseAttemptKey (key: string): { id: string, attempt: number } | undefined {
  const cut = key.lastIndexOf('/')
  const attempt = Number(key.slice(cut + 1))
  if (cut <= 0 || !Number.isInteger(attempt) || attempt < 1) return undefined
  return { id: key.slice(0, cut), attempt }
}

/** Pure: the same version of a record (same attempt, state and update time)? */
export function sameVersion (a: Pick<TaskRecord, 'attempt' | 'state' | 'updatedAt'>, b: Pick<TaskRecord, 'attempt' | 'state' | 'updatedAt'>): boolean {
  return a.attempt === b.attempt && a.state === b.state && a.updatedAt === b.updatedAt
}
