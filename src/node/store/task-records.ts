import { errorMessage } from '../../errors.js'
import { serial } from '../serial.js'
import { consistent, createRecordValidator, FINAL_STATES, supersedes } from '../../protocols/results/index.js'
import { attemptKey, decodeStored, encodeStored, parseAttemptKey, sameVersion } from './stored.js'
import type { StoredRecord } from './stored.js'
import type { TaskRecord, TaskState } from '../../protocols/results/index.js'
import type { Logger } from '../logger.js'

export type { StoredRecord } from './stored.js'

/** The slice of a level sublevel the store needs. */
export interface RecordDb {
  get: (key: string) => Promise<string | undefined>
  put: (key: string, value: string) => Promise<void>
  del: (key: string) => Promise<void>
  iterator: () => AsyncIterable<[string, string]>
}

export interface TaskRecordsInit {
  /** retention: past this many records the oldest final ones are deleted; older attempts have the same bound */
  maxRecords?: number
  /** where records of older attempts go (the 'attempts' sublevel); in memory when absent (unit tests) */
  attempts?: RecordDb
}

/** One version of one attempt of a task: what two nodes compare to find what the other lacks. */
export interface RecordVersion {
  id: string
  attempt: number
  state: TaskState
  updatedAt: number
}

/** What this node holds for one attempt; `signed` when it also holds the envelope to relay it. */
export interface Held {
  state: TaskState
  updatedAt: number
  signed: boolean
}

type Listener = (record: TaskRecord) => void

const DEFAULT_MAX_RECORDS = 10_000

/**
 * Every task record this node has seen, on disk: the newest per task id (see `supersedes`) in
 * 'records', and the last record of each older attempt in 'attempts' (`<id>/<attempt>`), so a stale
 * runner reporting late is kept and shown but never replaces the retry. Each value keeps the signed
 * envelope it came in, so the record can be relayed and re-verified by anyone. An index in memory
 * keeps `list`, retention and sync digests cheap without re-reading the db.
 */
export class TaskRecords {
  private readonly db: RecordDb
  private readonly olderDb: RecordDb
  private readonly log: Logger
  private readonly maxRecords: number
  private readonly index = new Map<string, Held & { attempt: number, group: string }>()
  /** id → attempt → held, for attempts older than the current one */
  private readonly older = new Map<string, Map<number, Held>>()
  private olderCount = 0
  private readonly listeners = new Set<Listener>()
  private readonly validate = createRecordValidator()
  /** serialises writes so read-compare-write of one id never interleaves */
  private readonly serial = serial()
  /** bumped on every change: sync caches its digest per revision */
  private rev = 0
  private floorCache?: { rev: number, current: number, older: number }
  corrupt = 0
  /** records loaded without an envelope (stored before envelopes were kept): shown, not relayed */
  unsigned = 0

  constructor (db: RecordDb, log: Logger, init: TaskRecordsInit = {}) {
    this.db = db
    this.olderDb = init.attempts ?? memoryDb()
    this.log = log
    this.maxRecords = init.maxRecords ?? DEFAULT_MAX_RECORDS
  }

  async load (): Promise<void> {
    for await (const [key, value] of this.db.iterator()) {
      const stored = this.decode(key, value)
      if (stored != null) this.indexCurrent(stored)
    }
    for await (const [key, value] of this.olderDb.iterator()) {
      const stored = parseAttemptKey(key) == null ? this.undecodable(key, 'not an <id>/<attempt> key') : this.decode(key, value)
      if (stored != null) this.indexOlder(stored)
    }
    this.unsigned = [...this.index.values()].filter(v => !v.signed).length
    if (this.unsigned > 0) this.log.info({ component: 'task-records', count: this.unsigned }, 'some stored task records predate envelopes: shown, not relayed to other nodes')
  }

  /**
   * Stores the record (with the envelope it came in, when signed) if it supersedes what is held;
   * returns whether it became the task's current record. A record of an older attempt goes to the
   * attempt history instead and wakes no listener.
   */
  async put (record: TaskRecord, envelope?: Uint8Array): Promise<boolean> {
    return this.serial(async () => {
      const held = await this.stored(record.id)
      if (held != null && record.attempt < held.record.attempt) {
        await this.putOlder(held.record, { record, ...(envelope != null ? { envelope } : {}) })
        return false
      }
      const clash = consistent(held?.record, record)
      if (clash != null) {
        this.log.warn({ component: 'task-records', task: record.id, reason: clash }, 'refused an inconsistent task record')
        return false
      }
      if (!supersedes(held?.record, record)) {
        // the same version, now with its envelope: keep the relayable copy
        if (held != null && held.envelope == null && envelope != null && sameVersion(held.record, record)) await this.writeCurrent({ record, envelope })
        return false
      }
      if (held != null && record.attempt > held.record.attempt) await this.writeOlder(held)
      await this.writeCurrent({ record, ...(envelope != null ? { envelope } : {}) })
      for (const l of this.listeners) l(record)
      await this.prune()
      return true
    })
  }

  async get (id: string): Promise<TaskRecord | undefined> {
    return (await this.stored(id))?.record
  }

  /** Every attempt of a task this node knows, newest attempt first, the current record included. */
  async attempts (id: string): Promise<TaskRecord[]> {
    const current = await this.get(id)
    const attempts = [...(this.older.get(id)?.keys() ?? [])].sort((a, b) => b - a)
    const older = await Promise.all(attempts.map(async a => this.storedOlder(id, a)))
    return [current, ...older.map(s => s?.record)].filter((r): r is TaskRecord => r != null)
  }

  /** Records of a --all group (or the single task whose id equals the group). */
  async group (group: string): Promise<TaskRecord[]> {
    const ids = [...this.index].filter(([, v]) => v.group === group).map(([id]) => id)
    const out = await Promise.all(ids.map(async id => this.get(id)))
    return out.filter((r): r is TaskRecord => r != null)
  }

  async list (filter: { state?: TaskState, limit?: number } = {}): Promise<TaskRecord[]> {
    // a --all group's own record stays 'queued' for good once its children (each with a record of
    // its own) are placed: from then on the group is listed as its children, as `mesh status` shows it
    const parents = new Set<string>()
    for (const [id, v] of this.index) if (v.group !== id) parents.add(v.group)
    const ids = [...this.index]
      .filter(([id, v]) => !(v.state === 'queued' && parents.has(id)))
      .filter(([, v]) => filter.state == null || v.state === filter.state)
      .sort((a, b) => b[1].updatedAt - a[1].updatedAt)
      .slice(0, filter.limit ?? 100)
      .map(([id]) => id)
    const out = await Promise.all(ids.map(async id => this.get(id)))
    return out.filter((r): r is TaskRecord => r != null)
  }

  /** Calls `fn` for every record that becomes a task's current record from now on; returns the unsubscribe function. */
  subscribe (fn: Listener): () => void {
    this.listeners.add(fn)
    return () => { this.listeners.delete(fn) }
  }

  // --- what sync needs: cheap, from memory ---

  /** Changes whenever what the store holds changes. */
  revision (): number {
    return this.rev
  }

  /** Every version this node can relay (it holds the envelope), current and older attempts. */
  * versions (): Generator<RecordVersion> {
    for (const [id, v] of this.index) if (v.signed) yield { id, attempt: v.attempt, state: v.state, updatedAt: v.updatedAt }
    for (const [id, attempts] of this.older) {
      for (const [attempt, v] of attempts) if (v.signed) yield { id, attempt, state: v.state, updatedAt: v.updatedAt }
    }
  }

  held (id: string, attempt: number): Held | undefined {
    const current = this.index.get(id)
    if (current?.attempt === attempt) return { state: current.state, updatedAt: current.updatedAt, signed: current.signed }
    return this.older.get(id)?.get(attempt)
  }

  /** False when retention would delete this version at once: asking for it would only churn. */
  wouldKeep (v: RecordVersion): boolean {
    const current = this.index.get(v.id)
    const floor = this.floor()
    if (current == null || v.attempt >= current.attempt) {
      if (current != null || this.index.size < this.maxRecords || !FINAL_STATES.has(v.state)) return true
      return v.updatedAt > floor.current
    }
    return this.olderCount < this.maxRecords || v.updatedAt > floor.older
  }

  /** The signed envelope of a held version, for relaying. */
  async envelope (id: string, attempt: number): Promise<Uint8Array | undefined> {
    const current = this.index.get(id)
    const stored = current?.attempt === attempt ? await this.stored(id) : await this.storedOlder(id, attempt)
    return stored?.record.attempt === attempt ? stored.envelope : undefined
  }

  // --- internals ---

  private async putOlder (current: TaskRecord, next: StoredRecord): Promise<void> {
    const { record } = next
    const held = await this.storedOlder(record.id, record.attempt)
    // the dispatcher never changes; the first runner of an attempt owns it
    const clash = consistent(current, record) ?? consistent(held?.record, record)
    if (clash != null) {
      this.log.warn({ component: 'task-records', task: record.id, attempt: record.attempt, reason: clash }, 'refused an inconsistent record of an older attempt')
      return
    }
    if (held != null && !supersedes(held.record, record)) {
      if (held.envelope == null && next.envelope != null && sameVersion(held.record, record)) await this.writeOlder(next)
      return
    }
    await this.writeOlder(next)
    this.log.info({ component: 'task-records', task: record.id, attempt: record.attempt, current: current.attempt, state: record.state }, 'kept a late record of an older attempt')
    await this.prune()
  }

  private async writeCurrent (stored: StoredRecord): Promise<void> {
    await this.db.put(stored.record.id, encodeStored(stored))
    this.indexCurrent(stored)
  }

  private async writeOlder (stored: StoredRecord): Promise<void> {
    await this.olderDb.put(attemptKey(stored.record.id, stored.record.attempt), encodeStored(stored))
    this.indexOlder(stored)
  }

  private indexCurrent ({ record, envelope }: StoredRecord): void {
    this.index.set(record.id, { attempt: record.attempt, state: record.state, updatedAt: record.updatedAt, group: record.group, signed: envelope != null })
    this.rev++
  }

  private indexOlder ({ record, envelope }: StoredRecord): void {
    let attempts = this.older.get(record.id)
    if (attempts == null) this.older.set(record.id, attempts = new Map<number, Held>())
    if (!attempts.has(record.attempt)) this.olderCount++
    attempts.set(record.attempt, { state: record.state, updatedAt: record.updatedAt, signed: envelope != null })
    this.rev++
  }

  private async stored (id: string): Promise<StoredRecord | undefined> {
    // the index holds every current record that decodes: a task seen for the first time (each
    // task's first record, on every node) needs no read
    if (!this.index.has(id)) return undefined
    const value = await this.db.get(id)
    return value == null ? undefined : this.decode(id, value)
  }

  private async storedOlder (id: string, attempt: number): Promise<StoredRecord | undefined> {
    const key = attemptKey(id, attempt)
    const value = await this.olderDb.get(key)
    return value == null ? undefined : this.decode(key, value)
  }

  private decode (key: string, value: string): StoredRecord | undefined {
    try {
      return decodeStored(value, this.validate)
    } catch (err) {
      return this.undecodable(key, errorMessage(err))
    }
  }

  private undecodable (key: string, reason: string): undefined {
    this.corrupt++
    this.log.warn({ component: 'task-records', task: key, reason }, 'stored task record does not decode; kept on disk, ignored')
    return undefined
  }

  /** Oldest update time retention keeps, for the current records (finals) and the older attempts. */
  private floor (): { current: number, older: number } {
    if (this.floorCache?.rev !== this.rev) {
      let current = Infinity
      let older = Infinity
      for (const v of this.index.values()) if (FINAL_STATES.has(v.state) && v.updatedAt < current) current = v.updatedAt
      for (const attempts of this.older.values()) for (const v of attempts.values()) if (v.updatedAt < older) older = v.updatedAt
      this.floorCache = { rev: this.rev, current, older }
    }
    return this.floorCache
  }

  private async prune (): Promise<void> {
    if (this.index.size > this.maxRecords) {
      const finals = [...this.index].filter(([, v]) => FINAL_STATES.has(v.state)).sort((a, b) => a[1].updatedAt - b[1].updatedAt)
      for (const [id] of finals.slice(0, this.index.size - this.maxRecords)) {
        this.index.delete(id)
        await this.db.del(id)
        // a task's history goes with it
        for (const attempt of this.older.get(id)?.keys() ?? []) await this.deleteOlder(id, attempt)
        this.rev++
      }
    }
    // non-final records stay (a task may run for days) unless a flood of them, e.g. a member
    // inventing queued tasks, would grow the store without bound
    if (this.index.size > 2 * this.maxRecords) {
      const open = [...this.index].filter(([, v]) => !FINAL_STATES.has(v.state)).sort((a, b) => a[1].updatedAt - b[1].updatedAt)
      for (const [id] of open.slice(0, this.index.size - 2 * this.maxRecords)) {
        this.index.delete(id)
        await this.db.del(id)
        for (const attempt of this.older.get(id)?.keys() ?? []) await this.deleteOlder(id, attempt)
        this.rev++
      }
    }
    if (this.olderCount > this.maxRecords) {
      const all = [...this.older].flatMap(([id, attempts]) => [...attempts].map(([attempt, v]) => ({ id, attempt, updatedAt: v.updatedAt })))
      all.sort((a, b) => a.updatedAt - b.updatedAt)
      for (const o of all.slice(0, this.olderCount - this.maxRecords)) await this.deleteOlder(o.id, o.attempt)
    }
  }

  private async deleteOlder (id: string, attempt: number): Promise<void> {
    const attempts = this.older.get(id)
    if (attempts?.delete(attempt) !== true) return
    if (attempts.size === 0) this.older.delete(id)
    this.olderCount--
    this.rev++
    await this.olderDb.del(attemptKey(id, attempt))
  }
}

/** Adapts a level sublevel (which throws or returns undefined for a missing key by version) to RecordDb. */
export function levelRecordDb (sub: { get: (k: string) => Promise<string | undefined>, put: (k: string, v: string) => Promise<void>, del: (k: string) => Promise<void>, iterator: () => AsyncIterable<[string, string]> }): RecordDb {
  return {
    get: async key => sub.get(key).catch((err: unknown) => {
      if ((err as { code?: string }).code === 'LEVEL_NOT_FOUND') return undefined
      throw err
    }),
    put: async (k, v) => sub.put(k, v),
    del: async k => sub.del(k),
    iterator: () => sub.iterator()
  }
}

/** A Map behind RecordDb: the attempt history of a store built without a db for it. */
function memoryDb (): RecordDb {
  const m = new Map<string, string>()
  return {
    get: async k => m.get(k),
    put: async (k, v) => { m.set(k, v) },
    del: async k => { m.delete(k) },
    iterator: () => (async function * () { yield * [...m.entries()] })()
  }
}
