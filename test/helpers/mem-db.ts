import type { RecordDb } from '../../src/node/store/task-records.js'

/** A Map behind the RecordDb interface, for unit tests of one layer. */
export function memDb (): RecordDb {
  const m = new Map<string, string>()
  return {
    get: async k => m.get(k),
    put: async (k, v) => { m.set(k, v) },
    del: async k => { m.delete(k) },
    iterator: () => (async function * () { yield * [...m.entries()] })()
  }
}
