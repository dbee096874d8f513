import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { processExecutor } from '../../../src/exec/index.js'
import { emptyUsage } from '../../../src/node/advert.js'
import { silentLogger } from '../../../src/node/logger.js'
import { Runner, RunJournal } from '../../../src/node/runner/index.js'
import { FileCache, SEALED_MTIME } from '../../../src/node/runner/file-cache.js'
import { RECENT_USE_MS, STALE_PART_MS, sweep } from '../../../src/node/runner/janitor.js'
import { TaskRecords } from '../../../src/node/store/task-records.js'
import type { TaskRecord } from '../../../src/protocols/results/index.js'
import { memDb } from '../../helpers/mem-db.js'
import { taskOffer } from '../../helpers/runner.js'

const DAY = 86_400_000
const NOW = Date.parse('2026-12-05T12:00:00Z')
const sha = (c: string): string => c.repeat(64)

describe('runner disk janitor', () => {
  let home: string
  let tasks: string
  let cache: string

  beforeEach(async () => {
    home = await mkdtemp(join(tmpdir(), 'mesh-janitor-'))
    tasks = join(home, 'tasks')
    cache = join(home, 'cache')
  })
  afterEach(async () => { await rm(home, { recursive: true, force: true }) })

  /** a task dir whose task ended `agoMs` before NOW (its exit file's time), or that has no exit file */
  async function taskDir (name: string, agoMs: number, exited = true): Promise<string> {
    const dir = join(tasks, name)
    await mkdir(join(dir, 'work'), { recursive: true })
    await writeFile(join(dir, 'stdout.log'), 'out')
    const at = new Date(NOW - agoMs)
    if (exited) {
      await writeFile(join(dir, 'exit'), '0')
      await utimes(join(dir, 'exit'), at, at)
    }
    await utimes(dir, at, at)
    return dir
  }

  async function cached (hash: string, bytes: number, usedAgoMs: number, suffix = ''): Promise<string> {
    const path = join(cache, hash.slice(0, 2), hash + suffix)
    await mkdir(join(cache, hash.slice(0, 2)), { recursive: true })
    await writeFile(path, Buffer.alloc(bytes))
    // what FileCache leaves: a whole file has a fixed mtime and its last use in atime; a part
    // file's mtime is its last write
    const at = new Date(NOW - usedAgoMs)
    await utimes(path, at, suffix === '' ? SEALED_MTIME : at)
    return path
  }

  const init = (over: Partial<Parameters<typeof sweep>[0]> = {}): Parameters<typeof sweep>[0] => ({
    tasksDir: tasks, cacheDir: cache, keepTaskDirsMs: 7 * DAY, maxCacheBytes: 1000, inUse: () => new Set(), now: NOW, ...over
  })

  it('removes the dirs of tasks that ended longer ago than keepTaskDirsMs, and no other', async () => {
    const old = await taskDir('a.1', 8 * DAY)
    const recent = await taskDir('b.1', 6 * DAY)
    const oldNoExit = await taskDir('c.1', 9 * DAY, false)
    const running = await taskDir('d.1', 30 * DAY, false)
    const r = await sweep(init({ inUse: () => new Set(['d.1']) }))
    assert.equal(r.taskDirs, 2)
    assert.equal(existsSync(old), false)
    assert.equal(existsSync(oldNoExit), false, 'a dir without an exit file counts from its own time')
    assert.equal(existsSync(recent), true)
    assert.equal(existsSync(running), true, 'a task that still runs keeps its dir')
  })

  it('trims the cache to maxCacheBytes, least recently used first, never a file used just now', async () => {
    const oldest = await cached(sha('a'), 400, 3 * DAY)
    const older = await cached(sha('b'), 400, 2 * DAY)
    const old = await cached(sha('c'), 400, DAY)
    const fresh = await cached(sha('d'), 400, RECENT_USE_MS / 2)
    const r = await sweep(init({ maxCacheBytes: 1000 }))
    // 1600 bytes: the two least recently used go; 800 left
    assert.deepEqual([existsSync(oldest), existsSync(older), existsSync(old), existsSync(fresh)], [false, false, true, true])
    assert.deepEqual({ files: r.cacheFiles, freed: r.cacheBytesFreed, left: r.cacheBytes }, { files: 2, freed: 800, left: 800 })
    // over budget, but what is left was used recently enough to be in flight
    const r2 = await sweep(init({ maxCacheBytes: 0, now: NOW }))
    assert.deepEqual([existsSync(old), existsSync(fresh)], [false, true])
    assert.equal(r2.cacheBytes, 400)
  })

  it('removes transfers a crash cut off, once stale, and leaves a live one', async () => {
    const stale = await cached(sha('e'), 10, STALE_PART_MS + 1000, '.abc.part')
    const live = await cached(sha('f'), 10, 1000, '.def.part')
    await sweep(init())
    assert.equal(existsSync(stale), false)
    assert.equal(existsSync(live), true)
  })

  it('a cache hit marks the file used now, so the janitor keeps it', async () => {
    const path = await cached(sha('a'), 600, 3 * DAY)
    await cached(sha('b'), 600, 2 * DAY)
    assert.equal(await new FileCache(cache).has(sha('a')), true)
    await sweep(init({ now: Date.now(), maxCacheBytes: 1000 }))
    assert.equal(existsSync(path), true, 'the file just used stays')
    assert.equal(existsSync(join(cache, 'bb', sha('b'))), false)
  })

  it('skips the marker file at the top of the cache', async () => {
    await mkdir(cache, { recursive: true })
    await writeFile(join(cache, '.sealed'), '')
    const path = await cached(sha('m'), 100, 3 * DAY)
    const r = await sweep(init())
    assert.equal(r.cacheBytes, 100)
    assert.equal(existsSync(path), true)
  })

  it('does nothing in a home without tasks or cache yet', async () => {
    assert.deepEqual(await sweep(init()), { taskDirs: 0, cacheFiles: 0, cacheBytesFreed: 0, cacheBytes: 0 })
  })

  it('a runner sweeps a finished task\'s dir, never a running one\'s, and says where its logs went', async () => {
    const log = silentLogger()
    const published: TaskRecord[] = []
    const records = new TaskRecords(memDb(), log)
    const runner = new Runner({
      peerId: 'R', name: () => 'r', tags: () => [], home,
      capabilities: { cores: 2, memoryMB: 1024, numaNodes: [{ id: 0, cpus: [0, 1], memoryMB: 1024 }], gpus: [], numactl: false },
      usage: emptyUsage(), executor: processExecutor({ killGraceMs: 500 }), records,
      publish: async r => { published.push(r); await records.put(r) },
      capacityChanged: () => {}, journal: new RunJournal(memDb()), keepTaskDirsMs: DAY, log
    })
    try {
      for (const [id, cmd] of [['done', ['true']], ['long', ['sleep', '30']]] as const) {
        assert.equal((await (await runner.open(taskOffer(id, [...cmd]), 'D')).commit()).status, 'accepted')
      }
      for (let i = 0; i < 200 && !published.some(r => r.id === 'done' && r.state === 'succeeded'); i++) await sleep(25)
      await runner.sweepDisk(Date.now() + 2 * DAY)
      assert.equal(existsSync(join(tasks, 'done.1')), false, 'the finished task\'s dir is gone')
      assert.equal(existsSync(join(tasks, 'long.1')), true, 'the running task keeps its dir')
      const reading = (async () => { for await (const _ of runner.logs('done', false, AbortSignal.timeout(5000)) ?? []) { /* drain */ } })()
      await assert.rejects(reading, /removed with the task's dir \(keepTaskDirsMs\); `mesh status done`/)
    } finally {
      await runner.stop()
    }
  })
})
