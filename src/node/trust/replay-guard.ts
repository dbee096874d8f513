/**
 * Refuses a signed task seen before. Every admitted task id is written to the store with its
 * expiry, so a restart forgets nothing; once a task has expired its envelope is refused anyway
 * (verifyTask), so the id can be dropped.
 *
 *   store: taskId → expiresAt (ms since epoch, decimal)
 */
import { serial } from '../serial.js'
import type { KvStore, Verdict } from './types.js'

export interface ReplayGuardInit {
  /** prune expired ids after this many admissions; default 1000 */
  pruneEvery?: number
}

const DEFAULT_PRUNE_EVERY = 1000

export class ReplayGuard {
  private readonly db: KvStore
  private readonly pruneEvery: number
  private admitted = 0
  /** serialises check-then-write, so two copies of one task arriving together admit only one */
  private readonly serial = serial()

  constructor (db: KvStore, init: ReplayGuardInit = {}) {
    this.db = db
    this.pruneEvery = init.pruneEvery ?? DEFAULT_PRUNE_EVERY
  }

  /** Records `taskId` until `expiresAt`; refuses an id already held and not yet expired. */
  async admit (taskId: string, expiresAt: number, now: number): Promise<Verdict<object>> {
    return this.serial(async () => {
      if (expiresAt <= now) return { ok: false, reason: `task ${taskId} expired at ${new Date(expiresAt).toISOString()}` }
      const held = parseExpiry(await this.db.get(taskId))
      // an expired entry not yet pruned: any envelope it stood for is refused by its expiry now
      if (held != null && held > now) return { ok: false, reason: `task ${taskId} was already received (replay)` }
      await this.db.put(taskId, String(expiresAt))
      if (++this.admitted % this.pruneEvery === 0) await this.pruneNow(now)
      return { ok: true }
    })
  }

  /** Whether `taskId` is held (and not expired). */
  async seen (taskId: string, now: number): Promise<boolean> {
    const held = parseExpiry(await this.db.get(taskId))
    return held != null && held > now
  }

  /** Deletes the ids that expired by `now` (and unreadable entries); returns how many. */
  async prune (now: number): Promise<number> {
    return this.serial(async () => this.pruneNow(now))
  }

  private async pruneNow (now: number): Promise<number> {
    const stale: string[] = []
    for await (const [key, value] of this.db.iterator()) {
      const expiry = parseExpiry(value)
      if (expiry == null || expiry <= now) stale.push(key)
    }
    for (const key of stale) await this.db.del(key)
    return stale.length
  }

}

function parseExpiry (value: string | undefined): number | undefined {
  if (value == null || !/^\d{1,16}$/.test(value)) return undefined
  return Number(value)
}
