/**
 * The issuer's side of invites: which secrets it handed out (by hash only), what each grants, and
 * which were used. Single use means one peer: the first peer to prove a secret owns it; the same
 * peer may ask again until expiry (its first answer may have been lost), any other peer is refused.
 *
 *   store: sha256(secret) hex → { tags, roles, expiresAt, usedBy, usedAt }
 */
import { serial } from '../serial.js'
import { hashSecret } from './invite.js'
import type { InviteGrant } from './invite.js'
import type { KvStore, Verdict } from './types.js'

interface Entry extends InviteGrant {
  usedBy: string | null
  usedAt: string | null
}

export class InviteBook {
  private readonly db: KvStore
  /** serialises redeem, so one secret raced by two peers goes to one of them */
  private readonly serial = serial()

  constructor (db: KvStore) {
    this.db = db
  }

  async add (secretHash: string, grant: InviteGrant): Promise<void> {
    const entry: Entry = { tags: [...grant.tags], roles: [...grant.roles], expiresAt: grant.expiresAt, usedBy: null, usedAt: null }
    await this.serial(async () => this.db.put(secretHash, JSON.stringify(entry)))
  }

  /** Exchanges a secret for its grant, once per invite (see above). */
  async redeem (secret: string, peerId: string, now: number): Promise<Verdict<{ grant: InviteGrant }>> {
    return this.serial(async () => {
      const key = hashSecret(secret)
      const entry = decode(await this.db.get(key))
      if (entry == null) return { ok: false, reason: 'unknown invite (not issued by this node, or already pruned)' }
      if (entry.usedBy != null && entry.usedBy !== peerId) return { ok: false, reason: 'invite already used' }
      if (now >= Date.parse(entry.expiresAt)) return { ok: false, reason: `invite expired at ${entry.expiresAt}` }
      if (entry.usedBy == null) await this.db.put(key, JSON.stringify({ ...entry, usedBy: peerId, usedAt: new Date(now).toISOString() }))
      return { ok: true, grant: { tags: entry.tags, roles: entry.roles, expiresAt: entry.expiresAt } }
    })
  }

  /** Deletes invites (used or not) that expired by `now`; returns how many. */
  async prune (now: number): Promise<number> {
    return this.serial(async () => {
      const stale: string[] = []
      for await (const [key, value] of this.db.iterator()) {
        const entry = decode(value)
        if (entry == null || now >= Date.parse(entry.expiresAt)) stale.push(key)
      }
      for (const key of stale) await this.db.del(key)
      return stale.length
    })
  }

}

/** Entries are only written by add/redeem; an unreadable one is treated as absent. */
function decode (value: string | undefined): Entry | undefined {
  if (value == null) return undefined
  try {
    const e = JSON.parse(value) as Partial<Entry>
    if (!Array.isArray(e.tags) || !Array.isArray(e.roles) || typeof e.expiresAt !== 'string' || Number.isNaN(Date.parse(e.expiresAt))) return undefined
    return { tags: e.tags, roles: e.roles, expiresAt: e.expiresAt, usedBy: typeof e.usedBy === 'string' ? e.usedBy : null, usedAt: typeof e.usedAt === 'string' ? e.usedAt : null }
  } catch {
    return undefined
  }
}
