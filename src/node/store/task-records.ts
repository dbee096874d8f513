import { errorMessage } from '../../errors.js'
import { serial } from '../serial.js'
import { consistent, createRecordValidator, FINAL_STATES, supersedes } from '../../protocols/results/index.js'
import type { TaskRecord, TaskState } from '../../protocols/results/index.js'
import type { Logger } from '../logger.js'

/** The slice of a level sublevel the store needs. */
export interface RecordDb {
  get: (key: string) => Promise<string | undefined>
  put: (key: string, value: string) => Promise<void>
  del: (key: string) => Promise<void>
  iterator: () => AsyncIterable<[string, string]>
}

export interface TaskRecordsInit {
  /** retention: past this many records the oldest final ones are deleted */
  maxRecords?: number
}

type Listener = (record: TaskRecord) => void

const DEFAULT_MAX_RECORDS = 10_000

/**
 * Every task record this node has seen, on disk, newest per task id (see `supersedes`). An index
 * in memory (id → state, updatedAt) keeps `list` and retention cheap without re-reading the db.
 */
export class TaskRecords {
  private readonly db: RecordDb
  private readonly log: Logger
  private readonly maxRecords: number
  private readonly index = new Map<string, { state: TaskState, updatedAt: number, group: string }>()
  private readonly listeners = new Set<Listener>()
  private readonly validate = createRecordValidator()
  /** serialises writes so read-compare-write of one id never interleaves */
  private readonly serial = serial()
  corrupt = 0

  constructor (db: RecordDb, log: Logger, init: TaskRecordsInit = {}) {
    this.db = db
    this.log = log
    this.maxRecords = init.maxRecords ?? DEFAULT_MAX_RECORDS
  }

  async load (): Promise<void> {
    for await (const [key, value] of this.db.iterator()) {
      const record = this.decode(key, value)
      if (record != null) this.index.set(key, { state: record.state, updatedAt: record.updatedAt, group: record.group })
    }
  }

  /** Stores the record if it supersedes what is held; returns whether it did. */
  async put (record: TaskRecord): Promise<boolean> {
    return this.serial(async () => {
      const current = await this.get(record.id)
      const clash = consistent(current, record)
      if (clash != null) {
        this.log.warn({ component: 'task-records', task: record.id, reason: clash }, 'refused an inconsistent task record')
        return false
      }
      if (!supersedes(current, record)) return false
      await this.db.put(record.id, JSON.stringify(record))
      this.index.set(record.id, { state: record.state, updatedAt: record.updatedAt, group: record.group })
      for (const l of this.listeners) l(record)
      await this.prune()
      return true
    })
  }

  async get (id: string): Promise<TaskRecord | undefined> {
    const value = await this.db.get(id)
    return value == null ? undefined : this.decode(id, value)
  }

  /** Records of a --all group (or the single task whose id equals the group). */
  async group (group: string): Promise<TaskRecord[]> {
    const ids = [...this.index].filter(([, v]) => v.group === group).map(([id]) => id)
    const out = await Promise.all(ids.map(async id => this.get(id)))
    return out.filter((r): r is TaskRecord => r != null)
  }

  async list (filter: { state?: TaskState, limit?: number } = {}): Promise<TaskRecord[]> {
    const ids = [...this.index]
      .filter(([, v]) => filter.state == null || v.state === filter.state)
      .sort((a, b) => b[1].updatedAt - a[1].updatedAt)
      .slice(0, filter.limit ?? 100)
      .map(([id]) => id)
    const out = await Promise.all(ids.map(async id => this.get(id)))
    return out.filter((r): r is TaskRecord => r != null)
  }

  /** Calls `fn` for every record stored from now on; returns the unsubscribe function. */
  subscribe (fn: Listener): () => void {
    this.listeners.add(fn)
    return () => { this.listeners.delete(fn) }
  }

  private decode (key: string, value: string): TaskRecord | undefined {
    try {
      const record: unknown = JSON.parse(value)
      if (!this.validate(record)) throw new Error(this.validate.lastError())
      return record
    } catch (err) {
      this.corrupt++
      this.log.warn({ component: 'task-records', task: key, reason: errorMessage(err) }, 'stored task record does not decode; kept on disk, ignored')
      return undefined
    }
  }

  private async prune (): Promise<void> {
    if (this.index.size <= this.maxRecords) return
    const finals = [...this.index].filter(([, v]) => FINAL_STATES.has(v.state)).sort((a, b) => a[1].updatedAt - b[1].updatedAt)
    for (const [id] of finals.slice(0, this.index.size - this.maxRecords)) {
      this.index.delete(id)
      await this.db.del(id)
    }
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
