import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { silentLogger } from '../../../src/node/logger.js'
import { TaskRecords } from '../../../src/node/store/task-records.js'
import { memDb } from '../../helpers/mem-db.js'
import type { TaskRecord } from '../../../src/protocols/results/index.js'
import type { RecordDb } from '../../../src/node/store/task-records.js'

function rec (over: Partial<TaskRecord>): TaskRecord {
  return {
    id: 't1', name: 't', state: 'running', exitCode: null, runner: 'R1', runnerName: 'r1', numaNode: 0, attempt: 1,
    dispatcher: 'D', group: 't1', tags: [], submittedAt: '2025-01-01T00:00:00.000Z', startedAt: '2025-01-01T00:00:00.000Z',
    finishedAt: null, stdout: '', stderr: '', error: null, updatedAt: 1000, ...over
  }
}

const env = (s: string): Uint8Array => new TextEncoder().encode(s)

/** A log that records warn/info messages, to check that nothing is dropped silently. */
function recordingLog (): { log: ReturnType<typeof silentLogger>, lines: string[] } {
  const lines: string[] = []
  const log = silentLogger()
  for (const level of ['warn', 'info'] as const) {
    log[level] = ((obj: unknown, msg?: string) => { lines.push(`${level}: ${msg ?? ''} ${JSON.stringify(obj)}`) })
  }
  return { log, lines }
}

describe('task records keep envelopes', () => {
  it('stores the envelope with the record and hands it back for relaying', async () => {
    const db = memDb()
    const store = new TaskRecords(db, silentLogger())
    assert.equal(await store.put(rec({}), env('sealed-1')), true)
    assert.deepEqual(await store.envelope('t1', 1), env('sealed-1'))
    assert.equal(await store.envelope('t1', 2), undefined)
    assert.deepEqual([...store.versions()], [{ id: 't1', attempt: 1, state: 'running', updatedAt: 1000 }])
    // survives a restart
    const again = new TaskRecords(db, silentLogger())
    await again.load()
    assert.deepEqual(await again.envelope('t1', 1), env('sealed-1'))
    assert.deepEqual(await again.get('t1'), rec({}))
  })

  it('loads values stored before envelopes were kept, reports them, and does not list them for relaying', async () => {
    const db = memDb()
    await db.put('old', JSON.stringify(rec({ id: 'old', group: 'old', state: 'succeeded', exitCode: 0 })))
    await db.put('bad', '{"record": {"id": 3}}')
    const { log, lines } = recordingLog()
    const store = new TaskRecords(db, log)
    await store.load()
    assert.equal((await store.get('old'))?.state, 'succeeded')
    assert.equal(store.unsigned, 1)
    assert.equal(store.corrupt, 1)
    assert.ok(lines.some(l => l.includes('predate envelopes')), lines.join('\n'))
    assert.ok(lines.some(l => l.includes('does not decode') && l.includes('bad')), lines.join('\n'))
    assert.deepEqual([...store.versions()], [])
    assert.deepEqual(store.held('old', 1), { state: 'succeeded', updatedAt: 1000, signed: false })
    // the same version arriving signed makes it relayable; nothing else changes
    const seen: TaskRecord[] = []
    store.subscribe(r => seen.push(r))
    assert.equal(await store.put(rec({ id: 'old', group: 'old', state: 'succeeded', exitCode: 0 }), env('sealed')), false)
    assert.deepEqual(store.held('old', 1), { state: 'succeeded', updatedAt: 1000, signed: true })
    assert.deepEqual(await store.envelope('old', 1), env('sealed'))
    assert.equal(seen.length, 0)
  })
})

describe('attempt history', () => {
  it('keeps a stale attempt\'s late result without overwriting the retry, and shows both', async () => {
    const attemptsDb = memDb()
    const db = memDb()
    const store = new TaskRecords(db, silentLogger(), { attempts: attemptsDb })
    const seen: TaskRecord[] = []
    store.subscribe(r => seen.push(r))
    await store.put(rec({ attempt: 1, runner: 'R1', updatedAt: 1000 }), env('a1-running'))
    await store.put(rec({ attempt: 2, runner: 'R2', runnerName: 'r2', updatedAt: 2000 }), env('a2-running'))
    // the stale runner of attempt 1 reports late: kept, but the retry stays current and nobody is woken
    const late = rec({ attempt: 1, runner: 'R1', state: 'failed', exitCode: 1, updatedAt: 3000 })
    assert.equal(await store.put(late, env('a1-failed')), false)
    assert.equal((await store.get('t1'))?.attempt, 2)
    assert.deepEqual(seen.map(r => `${r.attempt}:${r.state}`), ['1:running', '2:running'])
    const all = await store.attempts('t1')
    assert.deepEqual(all.map(r => `${r.attempt}:${r.state}`), ['2:running', '1:failed'])
    assert.deepEqual(await store.envelope('t1', 1), env('a1-failed'))
    assert.ok(await attemptsDb.get('t1/1') != null)
    // an older version of attempt 1 does not replace its final record
    await store.put(rec({ attempt: 1, runner: 'R1', state: 'running', updatedAt: 3500 }), env('a1-late-running'))
    assert.equal((await store.attempts('t1'))[1]?.state, 'failed')
    // after a restart the history is still there
    const again = new TaskRecords(db, silentLogger(), { attempts: attemptsDb })
    await again.load()
    assert.deepEqual((await again.attempts('t1')).map(r => `${r.attempt}:${r.state}`), ['2:running', '1:failed'])
    assert.deepEqual([...again.versions()].map(v => `${v.attempt}:${v.state}`).sort(), ['1:failed', '2:running'])
  })

  it('refuses an older attempt naming another runner or another dispatcher', async () => {
    const { log, lines } = recordingLog()
    const store = new TaskRecords(memDb(), log)
    await store.put(rec({ attempt: 1, runner: 'R1' }))
    await store.put(rec({ attempt: 2, runner: 'R2', updatedAt: 2000 }))
    // attempt 1 moved to the history with runner R1: a member M cannot claim it
    await store.put(rec({ attempt: 1, runner: 'M', state: 'succeeded', exitCode: 0, updatedAt: 5000 }))
    await store.put(rec({ attempt: 1, runner: 'R1', dispatcher: 'M', state: 'succeeded', exitCode: 0, updatedAt: 5000 }))
    assert.deepEqual((await store.attempts('t1')).map(r => `${r.attempt}:${r.state}:${r.runner ?? ''}`), ['2:running:R2', '1:running:R1'])
    assert.equal(lines.filter(l => l.includes('refused an inconsistent record of an older attempt')).length, 2)
  })

  it('a record of a new attempt moves the current one into the history', async () => {
    const store = new TaskRecords(memDb(), silentLogger())
    await store.put(rec({ attempt: 1, state: 'lost', error: 'runner died', updatedAt: 1000 }), env('a1'))
    await store.put(rec({ attempt: 3, runner: 'R3', updatedAt: 3000 }), env('a3'))
    await store.put(rec({ attempt: 2, runner: 'R2', state: 'succeeded', exitCode: 0, updatedAt: 2500 }), env('a2'))
    assert.deepEqual((await store.attempts('t1')).map(r => r.attempt), [3, 2, 1])
    assert.deepEqual(store.held('t1', 1), { state: 'lost', updatedAt: 1000, signed: true })
    assert.deepEqual(store.held('t1', 3), { state: 'running', updatedAt: 3000, signed: true })
  })

  it('is bounded by the retention: a pruned task takes its history along, and the history has the same cap', async () => {
    const attempts = memDb()
    const store = new TaskRecords(memDb(), silentLogger(), { maxRecords: 3, attempts })
    for (let i = 0; i < 5; i++) {
      const id = `t${i}`
      await store.put(rec({ id, group: id, attempt: 1, state: 'failed', exitCode: 1, updatedAt: i * 10 }), env(`${id}.1`))
      await store.put(rec({ id, group: id, attempt: 2, runner: 'R2', state: 'succeeded', exitCode: 0, updatedAt: i * 10 + 1 }), env(`${id}.2`))
    }
    assert.deepEqual((await store.list()).map(r => r.id).sort(), ['t2', 't3', 't4'])
    assert.deepEqual(await store.attempts('t0'), [])
    assert.equal(await attempts.get('t0/1'), undefined)
    assert.equal((await store.attempts('t4')).length, 2)
    assert.equal(await keys(attempts), 3)
    // retention would delete an old final record of an unknown task at once: sync must not ask for it
    assert.equal(store.wouldKeep({ id: 'old', attempt: 1, state: 'succeeded', updatedAt: 1 }), false)
    assert.equal(store.wouldKeep({ id: 'new', attempt: 1, state: 'succeeded', updatedAt: 99 }), true)
    assert.equal(store.wouldKeep({ id: 'old', attempt: 1, state: 'running', updatedAt: 1 }), true)
  })
})

async function keys (db: RecordDb): Promise<number> {
  let n = 0
  for await (const _ of db.iterator()) n++
  return n
}

describe('task records: listing', () => {
  it('lists a --all group as its children once it has any, and a group nothing took as itself', async () => {
    const store = new TaskRecords(memDb(), silentLogger(), { attempts: memDb() })
    await store.put(rec({ id: 'g', group: 'g', state: 'queued', runner: null, updatedAt: 1000 }), env('g'))
    await store.put(rec({ id: 'solo', group: 'solo', state: 'queued', runner: null, updatedAt: 1001 }), env('solo'))
    assert.deepEqual((await store.list()).map(r => r.id).sort(), ['g', 'solo'], 'no child yet: the group waits, listed')
    await store.put(rec({ id: 'g-1', group: 'g', runner: 'R1', state: 'succeeded', exitCode: 0, updatedAt: 2000 }), env('g-1'))
    await store.put(rec({ id: 'g-2', group: 'g', runner: 'R2', state: 'running', updatedAt: 2001 }), env('g-2'))
    assert.deepEqual((await store.list()).map(r => r.id).sort(), ['g-1', 'g-2', 'solo'])
    assert.deepEqual((await store.list({ state: 'queued' })).map(r => r.id), ['solo'])
    // a group whose placement failed ends with a record of its own: listed
    await store.put(rec({ id: 'h', group: 'h', state: 'rejected', runner: null, error: 'no peer can take the task', updatedAt: 3000 }), env('h'))
    await store.put(rec({ id: 'h-1', group: 'h', state: 'rejected', runner: null, updatedAt: 2999 }), env('h-1'))
    assert.deepEqual((await store.list({ state: 'rejected' })).map(r => r.id).sort(), ['h', 'h-1'])
    assert.equal((await store.group('g')).length, 3, 'mesh status of the group still finds every record')
  })
})

describe('task records: a flood of records that never end', () => {
  it('keeps non-final records up to twice the retention, then forgets the oldest of them', async () => {
    const store = new TaskRecords(memDb(), silentLogger(), { maxRecords: 3, attempts: memDb() })
    for (let i = 0; i < 10; i++) await store.put(rec({ id: `q${i}`, group: `q${i}`, state: 'queued', runner: null, updatedAt: 1000 + i }), env(`q${i}`))
    assert.deepEqual((await store.list()).map(r => r.id).sort(), ['q4', 'q5', 'q6', 'q7', 'q8', 'q9'])
  })
})
