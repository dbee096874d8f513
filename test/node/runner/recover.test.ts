import assert from 'node:assert/strict'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { after, describe, it } from 'node:test'
import { processExecutor } from '../../../src/exec/index.js'
import { emptyUsage } from '../../../src/node/advert.js'
import { silentLogger } from '../../../src/node/logger.js'
import { Runner, RunJournal } from '../../../src/node/runner/index.js'
import { TaskRecords } from '../../../src/node/store/task-records.js'
import type { RecordDb } from '../../../src/node/store/task-records.js'
import type { TaskRecord } from '../../../src/protocols/results/index.js'
import { memDb } from '../../helpers/mem-db.js'
import { taskOffer } from '../../helpers/runner.js'

const CAPS = { cores: 4, memoryMB: 4096, numaNodes: [{ id: 0, cpus: [0, 1, 2, 3], memoryMB: 4096 }], gpus: [], numactl: false }

/** One "run" of a runner over a home and journal that outlive it, as a daemon's do. */
function runnerOver (home: string, journalDb: RecordDb, published: TaskRecord[], maxLogBytes?: number): { runner: Runner, usage: ReturnType<typeof emptyUsage>, executor: ReturnType<typeof processExecutor> } {
  const log = silentLogger()
  const usage = emptyUsage()
  const executor = processExecutor({ killGraceMs: 500 })
  const runner = new Runner({
    peerId: 'R', name: () => 'r', tags: () => [], home, capabilities: CAPS, usage, executor,
    records: new TaskRecords(memDb(), log),
    publish: async r => { published.push(r) },
    capacityChanged: () => {},
    journal: new RunJournal(journalDb),
    ...(maxLogBytes != null ? { maxLogBytes } : {}),
    log
  })
  return { runner, usage, executor }
}

async function until (check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 600 && !check(); i++) await sleep(50)
  assert.ok(check(), `timed out waiting for ${what}`)
}

describe('runner: journal and recovery after a crash', { timeout: 60_000 }, () => {
  const homes: string[] = []
  after(async () => { await Promise.all(homes.map(async h => rm(h, { recursive: true, force: true }))) })
  async function home (): Promise<string> {
    const h = await mkdtemp(join(tmpdir(), 'mesh-recover-'))
    homes.push(h)
    return h
  }

  it('journals an accepted task before replying, and forgets it once reported', async () => {
    const h = await home()
    const db = memDb()
    const published: TaskRecord[] = []
    const { runner } = runnerOver(h, db, published)
    const session = await runner.open(taskOffer('t-journal', ['sleep', '0.3']), 'D')
    assert.equal((await session.commit()).status, 'accepted')
    const { entries } = await new RunJournal(db).read()
    assert.equal(entries.length, 1)
    assert.ok(entries[0]!.pid != null && entries[0]!.startTime != null, 'pid and start time journaled before "accepted"')
    await until(() => published.some(r => r.state === 'succeeded'), 'the final record')
    assert.deepEqual((await new RunJournal(db).read()).entries, [])
    await runner.stop()
  })

  it('adopts a task that still runs after the runner died, holds its capacity, reports its end', async () => {
    const h = await home()
    const db = memDb()
    const before: TaskRecord[] = []
    // the first runner "dies": it is simply abandoned, its task keeps running
    const first = runnerOver(h, db, before)
    const session = await first.runner.open(taskOffer('t-adopt', ['sh', '-c', 'sleep 1; echo done; exit 5']), 'D')
    assert.equal((await session.commit()).status, 'accepted')

    const published: TaskRecord[] = []
    const second = runnerOver(h, db, published)
    const recovery = await second.runner.recover()
    assert.deepEqual(recovery, { adopted: 1, finished: 0, lost: 0, unreadable: 0 })
    assert.equal(second.usage.running, 1, 'the adopted task holds its reservation again')
    assert.ok(second.runner.isRunningHere('t-adopt'))
    await until(() => published.some(r => r.state === 'failed'), 'the adopted task\'s final record')
    const final = published.find(r => r.state === 'failed')!
    assert.equal(final.exitCode, 5)
    assert.match(final.stdout, /done/)
    assert.equal(second.usage.running, 0)
    await Promise.all([first.runner.stop(), second.runner.stop()])
  })

  it('reports a task that ended while the runner was down from its exit file', async () => {
    const h = await home()
    const db = memDb()
    const first = runnerOver(h, db, [])
    const session = await first.runner.open(taskOffer('t-ended', ['sh', '-c', 'exit 0']), 'D')
    assert.equal((await session.commit()).status, 'accepted')
    // the first runner's finish() would remove the entry: put it back as a crash would have left it
    const entries = (await new RunJournal(db).read()).entries
    await sleep(300)
    for (const e of entries) await new RunJournal(db).put(e)
    const published: TaskRecord[] = []
    const second = runnerOver(h, db, published)
    assert.deepEqual(await second.runner.recover(), { adopted: 0, finished: 1, lost: 0, unreadable: 0 })
    assert.equal(published.at(-1)?.state, 'succeeded')
    assert.match(published.at(-1)?.error ?? '', /ended while the runner was down/)
    await Promise.all([first.runner.stop(), second.runner.stop()])
  })

  it('reports lost what is gone without an exit status, and keeps undecodable entries', async () => {
    const h = await home()
    const db = memDb()
    const o = taskOffer('t-gone', ['true'])
    await new RunJournal(db).put({ v: 1, offer: o, reservation: { taskId: 't-gone.1', numaNode: 0, chargedNode: 0, cores: 1, memoryMB: 0 }, startedAt: new Date().toISOString(), pid: 999_999_999, startTime: '1' })
    await db.put('junk.1', '{not json')
    const published: TaskRecord[] = []
    const { runner, usage } = runnerOver(h, db, published)
    assert.deepEqual(await runner.recover(), { adopted: 0, finished: 0, lost: 1, unreadable: 1 })
    assert.equal(published.at(-1)?.state, 'lost')
    assert.equal(usage.running, 0, 'a lost task releases its capacity')
    assert.equal(await db.get('junk.1'), '{not json', 'an undecodable entry stays on disk')
    await runner.stop()
  })

  it('cuts a log that grows past its limit, with a note', async () => {
    const h = await home()
    const published: TaskRecord[] = []
    const { runner } = runnerOver(h, memDb(), published, 64 * 1024)
    const session = await runner.open(taskOffer('t-noisy', ['sh', '-c', 'i=0; while [ $i -lt 40 ]; do head -c 16384 /dev/zero | tr "\\0" x; i=$((i+1)); sleep 0.1; done']), 'D')
    assert.equal((await session.commit()).status, 'accepted')
    await until(() => published.some(r => r.state === 'succeeded'), 'the noisy task to end')
    const log = await readFile(join(h, 'tasks', 't-noisy.1', 'stdout.log'), 'utf8')
    assert.ok(log.length < 40 * 16384, `the log was bounded (${log.length} bytes)`)
    assert.match(log, /^mesh: log exceeded 65536 bytes/)
    await runner.stop()
  })

  it('removes a stale exit file before launching, so a crash cannot read an earlier result', async () => {
    const h = await home()
    await mkdir(join(h, 'tasks', 't-dir.1', 'work'), { recursive: true })
    await writeFile(join(h, 'tasks', 't-dir.1', 'exit'), '9\n')
    const db = memDb()
    const published: TaskRecord[] = []
    const { runner } = runnerOver(h, db, published)
    const session = await runner.open(taskOffer('t-dir', ['sh', '-c', 'sleep 0.2']), 'D')
    assert.equal((await session.commit()).status, 'accepted')
    assert.equal(await readFile(join(h, 'tasks', 't-dir.1', 'exit'), 'utf8').catch(() => 'none'), 'none')
    await until(() => published.some(r => r.state === 'succeeded' || r.state === 'failed'), 'the end')
    assert.equal(published.at(-1)?.state, 'succeeded', 'a stale exit file of an earlier run does not decide the result')
    await runner.stop()
  })
})
