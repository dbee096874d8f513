import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { bucketOf, differing, digest, wanted } from '../../src/protocols/sync/index.js'
import type { Held, RecordVersion } from '../../src/protocols/sync/index.js'

const v = (id: string, attempt: number, state: RecordVersion['state'], updatedAt: number): RecordVersion => ({ id, attempt, state, updatedAt })

function heldFrom (list: RecordVersion[], signed = true): (id: string, attempt: number) => Held | undefined {
  const m = new Map(list.map(x => [`${x.id}/${x.attempt}`, { state: x.state, updatedAt: x.updatedAt, signed }]))
  return (id, attempt) => m.get(`${id}/${attempt}`)
}

describe('sync digest', () => {
  it('is the same for the same versions in any order, and puts every attempt of a task in one bucket', () => {
    const list = Array.from({ length: 1000 }, (_, i) => v(`task-${i}`, 1 + (i % 3), 'succeeded', i))
    const a = digest(list)
    const b = digest([...list].reverse())
    assert.deepEqual(a.buckets, b.buckets)
    assert.equal(a.buckets.length, 256)
    assert.equal(bucketOf('task-7'), bucketOf('task-7'))
    assert.deepEqual(digest([v('x', 1, 'failed', 1), v('x', 2, 'running', 2)]).buckets.filter(h => h !== '').length, 1)
  })

  it('differs in exactly the bucket of a changed version', () => {
    const list = Array.from({ length: 500 }, (_, i) => v(`task-${i}`, 1, 'running', i))
    const changed = list.map(x => x.id === 'task-42' ? { ...x, state: 'succeeded' as const, updatedAt: 9999 } : x)
    assert.deepEqual(differing(digest(list).buckets, digest(changed).buckets), [bucketOf('task-42')])
    assert.deepEqual(differing(digest(list).buckets, digest(list).buckets), [])
  })

  it('10,000 versions: a digest is 256 short hashes and costs little', () => {
    const list = Array.from({ length: 10_000 }, (_, i) => v(`0123456789abcdef${i}`, 1, 'succeeded', 1_700_000_000_000 + i))
    const started = performance.now()
    const d = digest(list)
    const ms = performance.now() - started
    assert.ok(JSON.stringify(d.buckets).length < 256 * 20)
    assert.equal(d.versions.reduce((n, b) => n + b.length, 0), 10_000)
    // measured, not asserted as a threshold: logged for the report
    console.log(`digest of 10,000 versions: ${ms.toFixed(1)} ms`)
  })

  it('wants what is missing, what is newer, and a signed copy of an unsigned one, newest first', () => {
    const mine = [v('a', 1, 'running', 10), v('b', 1, 'succeeded', 20), v('c', 2, 'running', 30)]
    const theirs = [
      v('a', 1, 'succeeded', 15), // newer: final beats running
      v('b', 1, 'running', 25), // older: a final is never replaced by a non-final
      v('c', 1, 'failed', 5), // an attempt missing here (history)
      v('d', 1, 'queued', 40), // a task missing here
      v('c', 2, 'running', 30) // the same
    ]
    const want = wanted(theirs, heldFrom(mine), () => true)
    assert.deepEqual(want.map(x => `${x.id}/${x.attempt}`), ['d/1', 'a/1', 'c/1'])
    // unsigned here: the same version is worth a signed copy
    assert.deepEqual(wanted([v('b', 1, 'succeeded', 20)], heldFrom(mine, false), () => true).length, 1)
    // retention says no
    assert.deepEqual(wanted(theirs, heldFrom(mine), x => x.id !== 'd').map(x => x.id), ['a', 'c'])
  })
})
