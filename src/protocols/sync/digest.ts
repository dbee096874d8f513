import { createHash } from 'node:crypto'
import { FINAL_STATES } from '../results/index.js'
import { BUCKET_HASH_CHARS, BUCKETS } from './constants.js'
import type { Held, RecordVersion } from './index.js'

/**
 * Pure anti-entropy arithmetic, no I/O. Two nodes compare one hash per bucket, then list the
 * versions of the buckets that differ, then ask for the versions they lack.
 */

/** A node's summary: one hash per bucket ('' when empty), and the versions behind each. */
export interface Digest {
  buckets: string[]
  versions: RecordVersion[][]
}

/** FNV-1a of the task id: every attempt of a task falls in one bucket, the same on every node. */
export function bucketOf (id: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < id.length; i++) {
    h ^= id.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return (h >>> 0) % BUCKETS
}

export function digest (versions: Iterable<RecordVersion>): Digest {
  const byBucket: RecordVersion[][] = Array.from({ length: BUCKETS }, () => [])
  for (const v of versions) byBucket[bucketOf(v.id)]!.push(v)
  const buckets = byBucket.map(list => {
    if (list.length === 0) return ''
    const lines = list.map(v => `${v.id}\t${v.attempt}\t${v.state}\t${v.updatedAt}`).sort()
    return createHash('sha256').update(lines.join('\n')).digest('hex').slice(0, BUCKET_HASH_CHARS)
  })
  return { buckets, versions: byBucket }
}

/** Indexes of the buckets whose hashes differ. */
export function differing (mine: readonly string[], theirs: readonly string[]): number[] {
  const out: number[] = []
  for (let i = 0; i < BUCKETS; i++) if (mine[i] !== theirs[i]) out.push(i)
  return out
}

/** Pure: within one attempt, is `a` a later version than `b`? (the order `supersedes` uses) */
export function newerVersion (a: Pick<RecordVersion, 'state' | 'updatedAt'>, b: Pick<RecordVersion, 'state' | 'updatedAt'>): boolean {
  const aFinal = FINAL_STATES.has(a.state)
  if (aFinal !== FINAL_STATES.has(b.state)) return aFinal
  return a.updatedAt > b.updatedAt
}

/**
 * The peer's versions worth asking for: attempts this node lacks, later versions of ones it holds,
 * and the same version when it holds no envelope for it (so it can relay it too) — unless
 * retention would delete it at once. Newest first, so a cut-short session brings the recent ones.
 */
export function wanted (theirs: Iterable<RecordVersion>, held: (id: string, attempt: number) => Held | undefined, keep: (v: RecordVersion) => boolean): RecordVersion[] {
  const out = new Map<string, RecordVersion>()
  for (const v of theirs) {
    const h = held(v.id, v.attempt)
    const want = h == null || newerVersion(v, h) || (!h.signed && v.state === h.state && v.updatedAt === h.updatedAt)
    if (!want || !keep(v)) continue
    const key = `${v.id}/${v.attempt}`
    const seen = out.get(key)
    if (seen == null || newerVersion(v, seen)) out.set(key, v)
  }
  return [...out.values()].sort((a, b) => b.updatedAt - a.updatedAt)
}
