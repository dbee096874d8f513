/**
 * The runner's journal: every task it accepted and has not yet reported final, on disk, written
 * with fsync before the dispatcher hears "accepted". A runner killed with SIGKILL reads it at
 * start to adopt what still runs and report the rest lost; without it such tasks would vanish.
 */
import { errorMessage } from '../../errors.js'
import type { TaskOffer } from '../../protocols/push/index.js'
import type { Reservation } from './ledger.js'

/** The slice of a level sublevel the journal needs; `put` must reach the disk before it resolves. */
export interface JournalDb {
  put: (key: string, value: string) => Promise<void>
  del: (key: string) => Promise<void>
  iterator: () => AsyncIterable<[string, string]>
}

export interface RunEntry {
  v: 1
  offer: TaskOffer
  reservation: Reservation
  /** ISO time of launch */
  startedAt: string
  /** the task's process group leader and its /proc start time, once launched */
  pid?: number
  startTime?: string
}

export interface Unreadable { key: string, reason: string }

export class RunJournal {
  private readonly db: JournalDb

  constructor (db: JournalDb) {
    this.db = db
  }

  async put (entry: RunEntry): Promise<void> {
    await this.db.put(entryKey(entry.offer), JSON.stringify(entry))
  }

  async delete (offer: TaskOffer): Promise<void> {
    await this.db.del(entryKey(offer))
  }

  /** Every entry, and those that do not decode (they stay on disk, to be looked at). */
  async read (): Promise<{ entries: RunEntry[], unreadable: Unreadable[] }> {
    const entries: RunEntry[] = []
    const unreadable: Unreadable[] = []
    for await (const [key, value] of this.db.iterator()) {
      try {
        const e = JSON.parse(value) as RunEntry
        if (e?.v !== 1 || typeof e.offer?.id !== 'string' || !Number.isInteger(e.offer.attempt) || e.reservation == null || typeof e.startedAt !== 'string') throw new Error('missing fields')
        if (entryKey(e.offer) !== key) throw new Error(`key ${key} does not match task ${e.offer.id} attempt ${e.offer.attempt}`)
        entries.push(e)
      } catch (err) {
        unreadable.push({ key, reason: errorMessage(err) })
      }
    }
    return { entries, unreadable }
  }
}

export function entryKey (offer: Pick<TaskOffer, 'id' | 'attempt'>): string {
  return `${offer.id}.${offer.attempt}`
}
