/**
 * Catch-up (issue 5): real daemons on loopback. Results are gossiped only to whoever is up; a node
 * that was down, or a dispatcher killed while its task ran, gets them back from a peer over
 * /mesh/sync/1.0.0 when it reconnects. No timing is asserted: convergence is awaited generously.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { Cluster, FAST_CONFIG, waitFor } from '../helpers/daemons.js'
import type { TestDaemon } from '../helpers/daemons.js'
import type { TaskRecord } from '../../src/protocols/results/index.js'

type Shown = TaskRecord & { attempts?: TaskRecord[] }

async function status (d: TestDaemon, id: string): Promise<Shown | undefined> {
  const r = await d.cli(['status', id, '--json'])
  return r.code === 0 ? JSON.parse(r.stdout) as Shown : undefined
}

async function tasks (d: TestDaemon): Promise<TaskRecord[]> {
  const r = await d.cli(['tasks', '--json'])
  if (r.code !== 0) throw new Error(`mesh tasks failed (${r.code}): ${r.stderr}`)
  return JSON.parse(r.stdout) as TaskRecord[]
}

async function formed (daemons: TestDaemon[]): Promise<void> {
  for (const d of daemons) {
    await waitFor(`mesh formed at ${d.id}`, async () => (await d.peers()).filter(p => p.state === 'online').length === daemons.length, 60_000)
  }
}

describe('catch-up after downtime', () => {
  const cluster = new Cluster()
  let a: TestDaemon, b: TestDaemon, c: TestDaemon

  before(async () => {
    a = await cluster.start({ tags: ['alpha'], config: FAST_CONFIG })
    b = await cluster.start({ tags: ['beta'], bootstrap: [a.addr], config: FAST_CONFIG })
    c = await cluster.start({ tags: ['gamma'], bootstrap: [a.addr], config: FAST_CONFIG })
    await formed([a, b, c])
  })

  after(async () => { await cluster.stopAll() })

  it('a node that was stopped ends with the records it missed, identical to the others\'', async () => {
    await cluster.stop(c)
    const ids: string[] = []
    for (let i = 0; i < 3; i++) {
      const r = await a.cli(['push', '--json', '--tag', 'beta', '--', 'sh', '-c', `echo missed-${i}`])
      assert.equal(r.code, 0, r.stderr)
      const rec = JSON.parse(r.stdout) as TaskRecord
      assert.equal(rec.runner, b.id)
      ids.push(rec.id)
    }
    // gossipsub's message cache offers the last few seconds of messages to a peer that (re)connects
    // (IHAVE/IWANT, about 5 heartbeats of 1 s): let it expire, so only sync can bring the records
    await new Promise(resolve => setTimeout(resolve, 7_000))
    const before = { a: a.stderr().length, b: b.stderr().length }
    c = await cluster.start({ home: c.home, tags: ['gamma'], bootstrap: [a.addr], config: FAST_CONFIG })
    const started = Date.now()
    const seen = await waitFor('c to hold the final records it missed', async () => {
      const held = await tasks(c)
      const mine = ids.map(id => held.find(r => r.id === id))
      return mine.every(r => r != null && r.state !== 'running' && r.state !== 'queued') ? mine : undefined
    }, 90_000, 500)
    console.log(`catch-up of a restarted node: ${Date.now() - started} ms from ready to holding the missed records (polled every 500 ms)`)
    for (const [i, id] of ids.entries()) {
      assert.deepEqual(seen[i], (await tasks(a)).find(r => r.id === id), `record of ${id}`)
      assert.match(seen[i]!.stdout, new RegExp(`missed-${i}`))
    }
    // it came by sync: nothing was gossiped while c was down. Either side may start the session
    // (c on connecting, or a/b when their detector hears c again); the side that moved records logs it
    const since = [c.stderr(), a.stderr().slice(before.a), b.stderr().slice(before.b)]
    const moved = since.map(text => text.split('\n').filter(l => l.includes('synced task records with peer')))
    assert.ok(moved.some(lines => lines.length > 0), 'a sync session moved the missed records')
  })

  it('a dispatcher killed while its task runs ends with the result when restarted', async () => {
    const r = await a.cli(['push', '--detach', '--tag', 'beta', '--', 'sh', '-c', 'sleep 4; echo finished late'])
    assert.equal(r.code, 0, r.stderr)
    const id = r.stdout.trim()
    await waitFor('the task to run on b', async () => (await status(a, id))?.state === 'running', 60_000)
    await cluster.kill(a)
    const final = await waitFor('b to see the task finish', async () => {
      const s = await status(b, id)
      return s?.state === 'succeeded' ? s : undefined
    }, 90_000, 500)
    a = await cluster.start({ home: a.home, tags: ['alpha'], bootstrap: [b.addr], config: FAST_CONFIG })
    const got = await waitFor('the restarted dispatcher to hold the result', async () => {
      const s = await status(a, id)
      return s?.state === 'succeeded' ? s : undefined
    }, 90_000, 500)
    assert.match(got.stdout, /finished late/)
    assert.equal(got.runner, b.id)
    assert.equal(got.updatedAt, final.updatedAt)
    assert.deepEqual(got.attempts?.map(x => x.attempt), [1])
  })
})
