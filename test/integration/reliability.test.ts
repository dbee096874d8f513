/**
 * Reliability with real daemons on loopback: a runner killed mid-task, a runner that comes back
 * and adopts its task, and a `mesh push` whose own daemon dies while it waits.
 */
import assert from 'node:assert/strict'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { Cluster, FAST_CONFIG, cli, waitFor } from '../helpers/daemons.js'
import type { TestDaemon } from '../helpers/daemons.js'
import type { TaskRecord } from '../../src/protocols/results/index.js'

// fast failure detection keeps the tests short; the defaults are measured in BENCHMARKS.md
const CONFIG = { ...FAST_CONFIG, suspectAfterMs: 1_500, probeIntervalMs: 500, probeTimeoutMs: 1_000, probeFailures: 3 }

async function status (d: TestDaemon, id: string): Promise<TaskRecord | undefined> {
  const r = await d.cli(['status', id, '--json'])
  return r.code === 0 ? JSON.parse(r.stdout) as TaskRecord : undefined
}

describe('reliability across real daemons', { timeout: 240_000 }, () => {
  const cluster = new Cluster()
  let a: TestDaemon
  const runners = new Map<string, TestDaemon>()
  let dir = ''

  before(async () => {
    a = await cluster.start({ config: CONFIG })
    for (const name of ['b', 'c']) {
      const d = await cluster.start({ tags: ['work'], bootstrap: [a.addr], config: { ...CONFIG, name } })
      runners.set(d.id, d)
    }
    await waitFor('a to see both runners online', async () => (await a.peers(['--tag', 'work'])).filter(p => p.state === 'online').length === 2 || undefined)
    dir = await cluster.home()
  })
  after(async () => { await cluster.stopAll() })

  async function taskFile (name: string, body: object): Promise<string> {
    const path = join(dir, `${name}.json`)
    await writeFile(path, JSON.stringify({ name, tags: ['work'], ...body }))
    return path
  }

  async function runningOn (id: string): Promise<TestDaemon> {
    const rec = await waitFor(`task ${id} to run`, async () => { const r = await status(a, id); return r?.state === 'running' && r.runner != null ? r : undefined })
    return runners.get(rec.runner!)!
  }

  it('finishes a task on the other peer as attempt 2 when its runner is killed mid-task', async () => {
    const file = await taskFile('killed-runner', { command: ['sh', '-c', 'sleep 4; echo "done on attempt $MESH_ATTEMPT"'], retries: 1 })
    const pushed = await a.cli(['push', '--detach', file])
    assert.equal(pushed.code, 0, pushed.stderr)
    const id = pushed.stdout.trim()
    const victim = await runningOn(id)
    await cluster.kill(victim)
    runners.delete(victim.id)

    const waited = await a.cli(['status', id, '--wait', '--json'], { timeoutMs: 120_000 })
    assert.equal(waited.code, 0, waited.stderr)
    const rec = JSON.parse(waited.stdout) as TaskRecord
    assert.deepEqual([rec.state, rec.attempt], ['succeeded', 2])
    assert.notEqual(rec.runner, victim.id)
    assert.match(rec.stdout, /done on attempt 2/)

    // the victim comes back with its home: it adopts its orphaned attempt 1, whose late result is
    // kept as history and does not replace attempt 2
    const back = await cluster.start({ home: victim.home, tags: ['work'], bootstrap: [a.addr], config: { ...CONFIG, name: 'back' } })
    runners.set(back.id, back)
    await waitFor('attempt 1 to be reported by the restarted runner', async () => {
      const r = await a.cli(['status', id, '--json'])
      return r.code === 0 && (JSON.parse(r.stdout) as TaskRecord).attempt === 2 && back.stderr().includes('"task":"' + id + '"') ? true : undefined
    }, 60_000)
    const now = await status(a, id)
    assert.deepEqual([now?.state, now?.attempt], ['succeeded', 2], 'the stale attempt did not overwrite the newer one')
  })

  it('a runner restarted with its home adopts the task it was running', async () => {
    const file = await taskFile('adopted', { command: ['sh', '-c', 'sleep 20; echo adopted ok'], retries: 0 })
    const pushed = await a.cli(['push', '--detach', file])
    const id = pushed.stdout.trim()
    const victim = await runningOn(id)
    await cluster.kill(victim)
    runners.delete(victim.id)
    const back = await cluster.start({ home: victim.home, tags: ['work'], bootstrap: [a.addr], config: { ...CONFIG, name: 'adopter' } })
    runners.set(back.id, back)
    const rec = await waitFor(`task ${id} to succeed on the restarted runner`, async () => {
      const r = await status(a, id)
      return r?.state === 'succeeded' ? r : undefined
    }, 90_000)
    assert.equal(rec.runner, victim.id)
    assert.equal(rec.attempt, 1)
    assert.match(rec.stdout, /adopted ok/)
    assert.match(back.stderr(), /adopted a task that kept running/)
  })

  it('mesh push whose daemon dies while it waits says how to follow the task', async () => {
    const file = await taskFile('orphaned-wait', { command: ['sh', '-c', 'sleep 3; echo fine'] })
    const pending = cli(['push', '--home', a.home, file], { timeoutMs: 60_000 })
    const id = await waitFor('the task to be placed', async () => {
      const r = await a.cli(['tasks', '--json'])
      const t = r.code === 0 ? (JSON.parse(r.stdout) as TaskRecord[]).find(x => x.name === 'orphaned-wait' && x.state === 'running') : undefined
      return t?.id
    })
    const home = a.home
    await cluster.kill(a)
    const out = await pending
    assert.equal(out.code, 1)
    assert.match(out.stderr, new RegExp(`task ${id}: lost the connection to the local daemon.*mesh status ${id} --wait`))
    assert.doesNotMatch(out.stderr, /\n\s+at /, 'no stack trace')

    a = await cluster.start({ home, config: CONFIG, bootstrap: [...runners.values()].map(r => r.addr) })
    const waited = await a.cli(['status', id, '--wait', '--json'], { timeoutMs: 90_000 })
    assert.equal(waited.code, 0, waited.stderr)
    assert.equal((JSON.parse(waited.stdout) as TaskRecord).state, 'succeeded')
  })
})
