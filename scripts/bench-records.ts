/**
 * The task store's cost per task on a real level database: the records of one dispatched task
 * (queued, running, succeeded, each with a 1 KiB envelope, and the two reads the dispatcher makes),
 * for this checkout's store (read cache, no read for a first record) and for another build's
 * (`BEFORE`: the dist/ directory of another checkout), alternating in one process. Prints µs per
 * task and level reads per task, median and spread over the rounds.
 *
 *   node dist/scripts/bench-records.js BEFORE_DIST [rounds] [tasks-per-round]
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { Level } from 'level'
import { silentLogger } from '../src/node/logger.js'
import { cachedRecordDb } from '../src/node/store/cached-db.js'
import { TaskRecords } from '../src/node/store/task-records.js'
import { max, median, min } from './lib/stats.js'
import type { RecordDb } from '../src/node/store/task-records.js'
import type { TaskRecord } from '../src/protocols/results/index.js'

interface Store { put: (r: TaskRecord, e?: Uint8Array) => Promise<boolean>, get: (id: string) => Promise<TaskRecord | undefined>, load: () => Promise<void> }
type StoreFactory = (db: RecordDb) => Store

const [beforeDist, roundsArg, tasksArg] = process.argv.slice(2)
if (beforeDist == null) {
  console.error('usage: node dist/scripts/bench-records.js BEFORE_DIST [rounds] [tasks-per-round]')
  process.exit(2)
}
const rounds = Number(roundsArg ?? 7)
const tasks = Number(tasksArg ?? 1000)
const before = await import(resolve(beforeDist, 'src/node/store/task-records.js')) as { TaskRecords: new (db: RecordDb, log: unknown) => Store, levelRecordDb: (sub: unknown) => RecordDb }
const RECENT = 1024

const envelope = new Uint8Array(1024).fill(7)
function record (id: string, state: TaskRecord['state'], t: number): TaskRecord {
  return {
    id, name: id, state, exitCode: state === 'succeeded' ? 0 : null, runner: state === 'queued' ? null : 'R', runnerName: state === 'queued' ? null : 'r', numaNode: null, attempt: 1,
    dispatcher: 'D', group: id, tags: ['tp'], submittedAt: '2026-12-05T00:00:00.000Z', startedAt: state === 'queued' ? null : '2026-12-05T00:00:00.100Z',
    finishedAt: state === 'succeeded' ? '2026-12-05T00:00:00.200Z' : null, stdout: '', stderr: '', error: null, updatedAt: t
  }
}

/** µs per task and level reads per task for one round on a fresh database */
async function round (label: string, make: StoreFactory, wrap: (db: RecordDb) => RecordDb): Promise<{ us: number, reads: number }> {
  const dir = await mkdtemp(join(tmpdir(), `mesh-bench-records-${label}-`))
  const level = new Level<string, string>(dir)
  try {
    const sub = level.sublevel<string, string>('records', {})
    let reads = 0
    const inner = before.levelRecordDb(sub)
    const counted: RecordDb = { ...inner, get: async (k) => { reads++; return inner.get(k) } }
    const store = make(wrap(counted))
    await store.load()
    const t0 = process.hrtime.bigint()
    for (let i = 0; i < tasks; i++) {
      const id = `task-${i}`
      await store.put(record(id, 'queued', 1000 + i * 10), envelope)
      await store.get(id)
      await store.put(record(id, 'running', 1001 + i * 10), envelope)
      await store.put(record(id, 'succeeded', 1002 + i * 10), envelope)
      await store.get(id)
    }
    return { us: Number(process.hrtime.bigint() - t0) / 1000 / tasks, reads: reads / tasks }
  } finally {
    await level.close()
    await rm(dir, { recursive: true, force: true })
  }
}

const log = silentLogger()
const old: StoreFactory = db => new before.TaskRecords(db, log)
const current: StoreFactory = db => new TaskRecords(db, log)
const builds: Array<[string, StoreFactory, (db: RecordDb) => RecordDb]> = [
  ['before', old, db => db],
  ['after', current, db => cachedRecordDb(db, RECENT)]
]
const results = new Map<string, Array<{ us: number, reads: number }>>(builds.map(([l]) => [l, []]))
for (const [label, make, wrap] of builds) await round(label, make, wrap) // warm-up
for (let r = 0; r < rounds; r++) {
  for (const [label, make, wrap] of builds) results.get(label)?.push(await round(label, make, wrap))
}
console.log(`${rounds} rounds of ${tasks} tasks (3 records with 1 KiB envelopes and 2 reads each), alternating, level on ${tmpdir()}`)
for (const [label, rs] of results) {
  const us = rs.map(r => r.us)
  console.log(`${label}: median ${median(us).toFixed(0)} µs per task, min–max ${min(us).toFixed(0)}–${max(us).toFixed(0)} µs; level reads per task ${median(rs.map(r => r.reads)).toFixed(2)}`)
}
const [b, a] = [...results.values()].map(rs => median(rs.map(r => r.us)))
console.log(`ratio ${((a as number) / (b as number)).toFixed(2)}×`)
