import type { RecordDb } from './task-records.js'

/**
 * A RecordDb that keeps the values of the `max` keys used last in memory, written through. The
 * task store reads a record before each write of it (to compare versions), and a task's records
 * arrive within seconds of each other: those reads were 8 % of a dispatching daemon's CPU as level
 * gets. Values are strings, so callers never share a mutable object through the cache. Writes of
 * one key must not overlap (TaskRecords serialises its writes); reads may overlap anything.
 */
export function cachedRecordDb (db: RecordDb, max: number): RecordDb {
  // a Map iterates in insertion order: re-inserting on use keeps the least recently used first
  const recent = new Map<string, string>()
  // bumped when a write or delete completes: a read that was under way meanwhile may have seen the
  // value before it, so it is returned but not remembered
  let writes = 0
  const remember = (key: string, value: string): void => {
    recent.delete(key)
    recent.set(key, value)
    if (recent.size > max) recent.delete(recent.keys().next().value as string)
  }
  return {
    get: async (key) => {
      const hit = recent.get(key)
      if (hit != null) {
        remember(key, hit)
        return hit
      }
      const before = writes
      const value = await db.get(key)
      if (value != null && writes === before) remember(key, value)
      return value
    },
    put: async (key, value) => {
      // only what reached the db is remembered
      try {
        await db.put(key, value)
      } finally {
        writes++
      }
      remember(key, value)
    },
    del: async (key) => {
      try {
        await db.del(key)
      } finally {
        writes++
        recent.delete(key)
      }
    },
    iterator: () => db.iterator()
  }
}
