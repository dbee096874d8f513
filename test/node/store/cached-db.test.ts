import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { cachedRecordDb } from '../../../src/node/store/cached-db.js'
import type { RecordDb } from '../../../src/node/store/task-records.js'

/** A Map behind RecordDb that counts reads and can be made to fail writes. */
function countingDb (): RecordDb & { reads: number, failPuts: boolean, map: Map<string, string> } {
  const map = new Map<string, string>()
  const db = {
    reads: 0,
    failPuts: false,
    map,
    get: async (k: string) => { db.reads++; return map.get(k) },
    put: async (k: string, v: string) => {
      if (db.failPuts) throw new Error('disk full')
      map.set(k, v)
    },
    del: async (k: string) => { map.delete(k) },
    iterator: () => (async function * () { yield * [...map.entries()] })()
  }
  return db
}

describe('cachedRecordDb', () => {
  it('answers reads of what it wrote or read without reading the db again', async () => {
    const inner = countingDb()
    inner.map.set('old', 'v0')
    const db = cachedRecordDb(inner, 10)
    await db.put('a', 'v1')
    assert.equal(await db.get('a'), 'v1')
    assert.equal(await db.get('old'), 'v0')
    assert.equal(await db.get('old'), 'v0')
    assert.equal(inner.reads, 1, 'only the first read of a key it had not seen')
  })

  it('forgets the least recently used key past its size, and reads it from the db again', async () => {
    const inner = countingDb()
    const db = cachedRecordDb(inner, 2)
    await db.put('a', '1')
    await db.put('b', '2')
    await db.get('a')
    await db.put('c', '3') // evicts b: a was used after it
    assert.equal(await db.get('a'), '1')
    assert.equal(inner.reads, 0)
    assert.equal(await db.get('b'), '2')
    assert.equal(inner.reads, 1)
  })

  it('does not remember a missing key, a deleted key or a write that failed', async () => {
    const inner = countingDb()
    const db = cachedRecordDb(inner, 10)
    assert.equal(await db.get('x'), undefined)
    inner.map.set('x', 'written elsewhere')
    assert.equal(await db.get('x'), 'written elsewhere')
    await db.del('x')
    assert.equal(await db.get('x'), undefined)
    await db.put('y', 'kept')
    inner.failPuts = true
    await assert.rejects(db.put('y', 'lost'), /disk full/)
    assert.equal(await db.get('y'), 'kept')
    assert.equal(inner.map.get('y'), 'kept')
  })

  it('does not remember a read that a write overtook (it may hold the value before the write)', async () => {
    const inner = countingDb()
    inner.map.set('k', 'old')
    let release = (): void => {}
    const slowGet = inner.get
    inner.get = async (k) => {
      const value = await slowGet(k)
      await new Promise<void>(resolve => { release = resolve })
      return value
    }
    const db = cachedRecordDb(inner, 10)
    const reading = db.get('k')
    await new Promise(resolve => setImmediate(resolve))
    await db.put('k', 'new')
    release()
    assert.equal(await reading, 'old')
    inner.get = slowGet
    assert.equal(await db.get('k'), 'new')
  })

  it('iterates the db itself', async () => {
    const inner = countingDb()
    const db = cachedRecordDb(inner, 1)
    await db.put('a', '1')
    await db.put('b', '2')
    const all: Array<[string, string]> = []
    for await (const kv of db.iterator()) all.push(kv)
    assert.deepEqual(all, [['a', '1'], ['b', '2']])
  })
})
