import assert from 'node:assert/strict'
import { appendFile, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { describe, it } from 'node:test'
import { Dispatcher } from '../../../src/node/dispatch/index.js'
import { backoffMs, mayRetry, placeRetryMs } from '../../../src/node/dispatch/retry.js'
import { silentLogger } from '../../../src/node/logger.js'
import { TaskRecords } from '../../../src/node/store/task-records.js'
import type { DispatchEvent, DispatcherComponents, RunnerHealth } from '../../../src/node/dispatch/dispatcher.js'
import type { RecordDb } from '../../../src/node/store/task-records.js'
import type { TaskSpec } from '../../../src/node/task/index.js'
import type { FileSupply, PushOutcome, TaskOffer } from '../../../src/protocols/push/index.js'
import type { TaskRecord } from '../../../src/protocols/results/index.js'
import { memDb } from '../../helpers/mem-db.js'

const numa = [{ id: 0, cores: 2, freeCores: 2, memoryMB: 1024, freeMemoryMB: 1024 }]
/** free cores a peer advertises, when not all of its 2 */
const freeCores = new Map<string, number>()
/** when a peer's advert was sent (its clock), when not at the epoch */
const sentAt = new Map<string, number>()
const peer = (id: string): unknown => ({ state: 'online', advert: { peerId: id, name: id.toLowerCase(), sentAt: sentAt.get(id) ?? 0, tags: ['work'], numa: numa.map(n => ({ ...n, freeCores: freeCores.get(id) ?? n.freeCores })), gpus: [], running: 0, numactl: false } })
// "12D3KooW…" ids: the dispatcher turns runner ids into PeerIds before pushing
const P1 = '12D3KooWSw8q3rsYBpSmG7y6gBoCNHNeqKqsbRShbjDeKUjGD4X2'
const P2 = '12D3KooWHRSnL2rp1h8o3FpHM8tNNRcVRJYNUYmxVKa5ruWK9THp'

function spec (retries: number): TaskSpec {
  return { name: 't', command: ['true'], shell: false, env: {}, cwd: null, tags: ['work'], resources: { cores: 1, memoryMB: 0, gpus: 0, numa: 'any' }, timeoutSec: 10, retries, files: [] }
}

/** One layer: the dispatcher over in-memory stores, a fake peer table, fake pushes and fake health. */
function harness (opts: { queue?: RecordDb, records?: TaskRecords, pushReply?: (peer: string, offer: TaskOffer, files: FileSupply) => PushOutcome | Promise<PushOutcome>, maxQueued?: number, placeRetryMs?: (round: number) => number } = {}): {
  d: Dispatcher
  offers: Array<{ peer: string, offer: TaskOffer }>
  records: TaskRecords
  kill: (peer: string) => void
  runnerReports: (offer: TaskOffer, peer: string, state: TaskRecord['state']) => Promise<void>
} {
  const log = silentLogger()
  const records = opts.records ?? new TaskRecords(memDb(), log)
  const offers: Array<{ peer: string, offer: TaskOffer }> = []
  const dead = new Set<string>()
  const listeners = new Set<(id: string) => void>()
  const health: RunnerHealth = {
    state: id => dead.has(id) ? 'dead' : 'alive',
    onDead: fn => { listeners.add(fn); return () => { listeners.delete(fn) } }
  }
  const c = {
    peerId: 'SELF',
    name: () => 'self',
    table: {
      list: () => [peer(P1), peer(P2)].filter(p => !dead.has((p as { advert: { peerId: string } }).advert.peerId)),
      get: (id: string) => [P1, P2].includes(id) && !dead.has(id) ? peer(id) : undefined
    },
    // the dispatcher itself lacks the tag: it never runs the task
    self: () => ({ peerId: 'SELF', name: 'self', online: true, tags: [], numa, gpus: 0, freeGpus: 0, running: 0, numactl: false }),
    push: {
      push: async (p: { toString: () => string }, offer: TaskOffer, files: FileSupply): Promise<PushOutcome> => {
        offers.push({ peer: p.toString(), offer })
        return await (opts.pushReply?.(p.toString(), offer, files) ?? { status: 'accepted', numaNode: 0, sentFiles: 0 })
      }
    },
    records,
    publish: async (r: TaskRecord) => { await records.put(r) },
    queue: opts.queue ?? memDb(),
    health,
    log
  } as unknown as DispatcherComponents
  const d = new Dispatcher(c, { retry: { baseMs: 10, capMs: 20 }, resumeGraceMs: 100, ...(opts.maxQueued != null ? { maxQueued: opts.maxQueued } : {}), ...(opts.placeRetryMs != null ? { placeRetryMs: opts.placeRetryMs } : {}) })
  return {
    d,
    offers,
    records,
    kill: id => { dead.add(id); for (const fn of listeners) fn(id) },
    runnerReports: async (offer, p, state) => {
      await records.put({
        id: offer.id, name: offer.name, state, exitCode: state === 'succeeded' ? 0 : null, runner: p, runnerName: p, numaNode: 0, attempt: offer.attempt,
        dispatcher: 'SELF', group: offer.group, tags: offer.tags, submittedAt: offer.submittedAt, startedAt: new Date().toISOString(),
        finishedAt: state === 'running' ? null : new Date().toISOString(), stdout: '', stderr: '', error: null, updatedAt: Date.now()
      })
    }
  }
}

async function until (check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 400 && !check(); i++) await sleep(10)
  assert.ok(check(), `timed out waiting for ${what}`)
}

async function events (d: Dispatcher, id: string): Promise<DispatchEvent[]> {
  const out: DispatchEvent[] = []
  for await (const ev of d.watch(id, false, AbortSignal.timeout(20_000))) out.push(ev)
  return out
}

describe('dispatcher: rescheduling lost tasks', () => {
  it('runs a task again on another peer when its runner dies, as attempt 2', async () => {
    const h = harness()
    const id = await h.d.submit({ spec: spec(1), all: false, waitMs: 5_000 })
    const watched = events(h.d, id)
    await until(() => h.offers.length === 1, 'the first offer')
    const first = h.offers[0]!
    await h.runnerReports(first.offer, first.peer, 'running')
    h.kill(first.peer)
    await until(() => h.offers.length === 2, 'the retry')
    const second = h.offers[1]!
    assert.equal(second.offer.attempt, 2)
    assert.notEqual(second.peer, first.peer, 'the retry goes to another peer')
    await h.runnerReports(second.offer, second.peer, 'succeeded')
    const evs = await watched
    const result = evs.find(e => e.type === 'result')
    assert.ok(result?.type === 'result')
    assert.deepEqual([result.record.state, result.record.attempt, result.record.runner], ['succeeded', 2, second.peer])
    assert.deepEqual(evs.filter(e => e.type === 'placed').map(e => e.type === 'placed' ? e.attempt : 0), [1, 2])
    const history = await h.records.attempts(id)
    assert.equal(history.find(r => r.attempt === 1)?.state, 'lost', 'attempt 1 is kept, marked lost by the dispatcher')
    await h.d.stop()
  })

  it('retries when the runner itself reports the task lost (it restarted without it)', async () => {
    const h = harness()
    const id = await h.d.submit({ spec: spec(2), all: false, waitMs: 5_000 })
    await until(() => h.offers.length === 1, 'the first offer')
    await h.runnerReports(h.offers[0]!.offer, h.offers[0]!.peer, 'lost')
    await until(() => h.offers.length === 2, 'the retry')
    await h.runnerReports(h.offers[1]!.offer, h.offers[1]!.peer, 'failed')
    const rec = await h.d.finalRecord(id, AbortSignal.timeout(5_000))
    assert.deepEqual([rec.state, rec.attempt], ['failed', 2], 'a task that failed on its own is not retried')
    await h.d.stop()
  })

  it('ends lost when no retries are left', async () => {
    const h = harness()
    const id = await h.d.submit({ spec: spec(0), all: false, waitMs: 5_000 })
    await until(() => h.offers.length === 1, 'the offer')
    h.kill(h.offers[0]!.peer)
    const rec = await h.d.finalRecord(id, AbortSignal.timeout(5_000))
    assert.deepEqual([rec.state, rec.attempt, h.offers.length], ['lost', 1, 1])
    assert.match(rec.error ?? '', /stopped answering/)
    await h.d.stop()
  })

  it('never lets two runs share an attempt: after an uncertain push the next peer gets attempt + 1', async () => {
    const h = harness({ pushReply: (_p, offer) => offer.attempt === 1 ? { status: 'rejected', reason: 'stream reset', sentFiles: 0, uncertain: true } : { status: 'accepted', numaNode: 0, sentFiles: 0 } })
    await h.d.submit({ spec: spec(0), all: false, waitMs: 5_000 })
    await until(() => h.offers.length === 2, 'two offers')
    assert.deepEqual(h.offers.map(o => o.offer.attempt), [1, 2])
    await h.d.stop()
  })

  it('resumes watching a placed task after a restart and retries it if its runner is gone', async () => {
    const queue = memDb()
    const log = silentLogger()
    const records = new TaskRecords(memDb(), log)
    const first = harness({ queue, records })
    const id = await first.d.submit({ spec: spec(1), all: false, waitMs: 5_000 })
    await until(() => first.offers.length === 1, 'the offer')
    await first.runnerReports(first.offers[0]!.offer, first.offers[0]!.peer, 'running')
    await first.d.stop()
    assert.ok(await queue.get(id) != null, 'a placed task stays in the queue until it ends')

    // the new run of the daemon: the runner died meanwhile
    const second = harness({ queue, records })
    second.kill(first.offers[0]!.peer)
    await second.d.start()
    await until(() => second.offers.length === 1, 'the retry after the restart')
    assert.equal(second.offers[0]!.offer.attempt, 2)
    await second.runnerReports(second.offers[0]!.offer, second.offers[0]!.peer, 'succeeded')
    const rec = await second.d.finalRecord(id, AbortSignal.timeout(5_000))
    assert.equal(rec.state, 'succeeded')
    await second.d.stop()
  })

  it('a dispatcher that crashed mid-push offers the next attempt number after its restart', async () => {
    const queue = memDb()
    const log = silentLogger()
    const records = new TaskRecords(memDb(), log)
    // the first run "crashes" while its push is in flight: the push never answers
    const first = harness({ queue, records, pushReply: async () => new Promise<PushOutcome>(() => {}) })
    await first.d.submit({ spec: spec(0), all: false, waitMs: 5_000 })
    await until(() => first.offers.length === 1, 'the push in flight')
    const second = harness({ queue, records })
    await second.d.start()
    await until(() => second.offers.length === 1, 'the offer after the restart')
    assert.deepEqual([first.offers[0]!.offer.attempt, second.offers[0]!.offer.attempt], [1, 2], 'the attempt offered before the crash is not reused')
    await second.d.stop()
  })

  it('refuses a push past the queue limit with a clear message (exit 3)', async () => {
    const h = harness({ pushReply: () => ({ status: 'rejected', reason: 'full', sentFiles: 0 }), maxQueued: 2 })
    await h.d.submit({ spec: spec(0), all: false, waitMs: 5_000 })
    await h.d.submit({ spec: spec(0), all: false, waitMs: 5_000 })
    await assert.rejects(h.d.submit({ spec: spec(0), all: false, waitMs: 5_000 }), (err: Error & { exitCode?: number }) => {
      assert.match(err.message, /2 tasks waiting for a runner \(the limit is 2\)/)
      assert.equal(err.exitCode, 3)
      return true
    })
    await h.d.stop()
  })
})

describe('dispatcher: tasks waiting for a runner', () => {
  const HOUR = 3_600_000

  it('are placed as soon as a peer advertises room, not at their next placement round', async (t) => {
    freeCores.set(P1, 0).set(P2, 0)
    t.after(() => { freeCores.clear() })
    // rounds an hour apart: only the wake-up can place these tasks within the test
    const h = harness({ placeRetryMs: () => HOUR })
    t.after(async () => { await h.d.stop() })
    const ids = await Promise.all([1, 2, 3].map(async () => h.d.submit({ spec: spec(0), all: false, waitMs: 2 * HOUR })))
    await sleep(50)
    assert.equal(h.offers.length, 0, 'no peer has room: nothing offered')
    h.d.peerChanged(P2)
    await sleep(50)
    assert.equal(h.offers.length, 0, 'an advert without room wakes nobody')
    freeCores.set(P2, 2)
    h.d.peerChanged(P2)
    await until(() => h.offers.length === 2, 'two offers to P2')
    await sleep(50)
    assert.equal(h.offers.length, 2, 'two free cores wake two tasks, the third waits')
    assert.deepEqual(h.offers.map(o => o.peer), [P2, P2])
    assert.deepEqual(h.offers.map(o => o.offer.id).sort(), ids.slice(0, 2).sort(), 'the oldest two')
  })

  it('a task that ends on a runner frees its slot for a waiting task before the runner advertises it', async (t) => {
    freeCores.set(P1, 0).set(P2, 1)
    t.after(() => { freeCores.clear(); sentAt.clear() })
    const h = harness({ placeRetryMs: () => HOUR })
    t.after(async () => { await h.d.stop() })
    await h.d.submit({ spec: spec(0), all: false, waitMs: 2 * HOUR })
    await until(() => h.offers.length === 1, 'the first task offered to P2')
    // P2's advert now shows it full, and no newer one comes
    freeCores.set(P2, 0)
    sentAt.set(P2, Date.now())
    await h.d.submit({ spec: spec(0), all: false, waitMs: 2 * HOUR })
    await sleep(50)
    assert.equal(h.offers.length, 1, 'nobody has room for the second task')
    await sleep(5)
    await h.runnerReports(h.offers[0]!.offer, P2, 'succeeded')
    await until(() => h.offers.length === 2, 'the second task offered to P2 once the first ended')
    assert.equal(h.offers[1]?.peer, P2)
  })

  it('a rejected offer waits again and is woken by the next advert with room', async (t) => {
    let full = true
    const h = harness({ placeRetryMs: () => HOUR, pushReply: () => full ? { status: 'rejected', reason: 'p2: no NUMA node has 1 free core', sentFiles: 0 } : { status: 'accepted', numaNode: 0, sentFiles: 0 } })
    t.after(async () => { await h.d.stop() })
    await h.d.submit({ spec: spec(0), all: false, waitMs: 2 * HOUR })
    // both peers advertise room (a stale advert) and both refuse
    await until(() => h.offers.length === 2, 'an offer to each peer')
    full = false
    h.d.peerChanged(P1)
    await until(() => h.offers.length === 3, 'the offer after the wake-up')
  })
})

describe('dispatcher: retry rules', () => {
  it('retries while attempts ≤ retries, with a doubling, capped, jittered backoff', () => {
    assert.deepEqual([mayRetry(1, 0), mayRetry(1, 1), mayRetry(2, 1)], [false, true, false])
    const policy = { baseMs: 1_000, capMs: 30_000 }
    assert.equal(backoffMs(1, policy, () => 0.5), 1_000)
    assert.equal(backoffMs(3, policy, () => 0.5), 4_000)
    assert.equal(backoffMs(10, policy, () => 0.5), 30_000)
    assert.equal(backoffMs(1, policy, () => 0), 800)
    assert.deepEqual([0, 1, 4, 9].map(placeRetryMs), [500, 1_000, 5_000, 5_000])
  })
})

describe('dispatcher: --all children are bound to their peer', () => {
  /** child id → the peers it was offered to (placement decides which child goes where) */
  function offeredTo (offers: Array<{ peer: string, offer: TaskOffer }>): Map<string, Set<string>> {
    const m = new Map<string, Set<string>>()
    for (const o of offers) m.set(o.offer.id, (m.get(o.offer.id) ?? new Set()).add(o.peer))
    return m
  }

  it('retries a child whose push failed on the same peer, and the group completes', async (t) => {
    let p2Failures = 2
    const h = harness({
      pushReply: (p) => p === P2 && p2Failures-- > 0
        ? { status: 'rejected', reason: 'dial timed out', sentFiles: 0 }
        : { status: 'accepted', numaNode: 0, sentFiles: 0 }
    })
    t.after(async () => { await h.d.stop() })
    const id = await h.d.submit({ spec: spec(0), all: true, waitMs: 10_000 })
    const watched = events(h.d, id)
    await until(() => h.offers.filter(o => o.peer === P2).length === 3, 'two retries on P2')
    const byChild = offeredTo(h.offers)
    assert.deepEqual([...byChild.keys()].sort(), [`${id}-1`, `${id}-2`])
    assert.ok([...byChild.values()].every(peers => peers.size === 1), 'each child only ever goes to its own peer')
    for (const o of h.offers.filter(o => o.peer === P1).concat(h.offers.filter(o => o.peer === P2).slice(-1))) await h.runnerReports(o.offer, o.peer, 'succeeded')
    const results = (await watched).filter(e => e.type === 'result')
    assert.deepEqual(results.map(e => e.type === 'result' ? `${e.record.id}:${e.record.state}` : '').sort(), [`${id}-1:succeeded`, `${id}-2:succeeded`])
  })

  it('stops retrying a child once its peer is declared dead, instead of dialling it until the wait ends', async (t) => {
    const h: ReturnType<typeof harness> = harness({
      placeRetryMs: () => 50,
      pushReply: (p) => {
        if (p !== P2) return { status: 'accepted', numaNode: 0, sentFiles: 0 }
        // its daemon was killed: the dial is refused, and the failure detector says dead
        h.kill(P2)
        return { status: 'rejected', reason: 'connect ECONNREFUSED', sentFiles: 0 }
      }
    })
    t.after(async () => { await h.d.stop() })
    const id = await h.d.submit({ spec: spec(0), all: true, waitMs: 60_000 })
    const watched = events(h.d, id)
    await until(() => h.offers.some(o => o.peer === P1), 'the offer to P1')
    await h.runnerReports(h.offers.find(o => o.peer === P1)!.offer, P1, 'succeeded')
    const results = (await watched).flatMap(e => e.type === 'result' ? [e.record] : [])
    assert.equal(h.offers.filter(o => o.peer === P2).length, 1, 'not offered again to a dead peer (every 50 ms for 60 s before)')
    const rejected = results.find(r => r.state === 'rejected')
    assert.match(rejected?.error ?? '', new RegExp(`^not placed on ${P2.toLowerCase()}: .*ECONNREFUSED.*declared dead`))
  })

  it('reports a child its peer never took as rejected, naming the peer, while the others run', async (t) => {
    // as a runner words it: its own name first
    const h = harness({ pushReply: (p) => p === P2 ? { status: 'rejected', reason: `${P2.toLowerCase()}: not enough disk`, sentFiles: 0 } : { status: 'accepted', numaNode: 0, sentFiles: 0 } })
    t.after(async () => { await h.d.stop() })
    const id = await h.d.submit({ spec: spec(0), all: true, waitMs: 600 })
    const watched = events(h.d, id)
    await until(() => h.offers.some(o => o.peer === P1), 'the offer to P1')
    const toP1 = h.offers.find(o => o.peer === P1)!.offer
    await h.runnerReports(toP1, P1, 'succeeded')
    const results = (await watched).flatMap(e => e.type === 'result' ? [e.record] : [])
    assert.equal(results.length, 2, 'one result per matching peer')
    const byChild = offeredTo(h.offers)
    assert.ok([...byChild.values()].every(peers => peers.size === 1), 'the rejected child was never moved to another peer')
    const rejected = results.find(r => r.id !== toP1.id)
    assert.equal(rejected?.state, 'rejected')
    assert.equal(rejected?.error, `not placed on ${P2.toLowerCase()}: not enough disk`, 'the peer named once')
    assert.equal(results.find(r => r.id === toP1.id)?.state, 'succeeded')
  })
})

describe('dispatcher: a staged file that changes after it was hashed', () => {
  /** a runner missing every file: it reads the dispatcher's bytes, as the push protocol does */
  const reading = async (p: string, offer: TaskOffer, files: FileSupply): Promise<PushOutcome> => {
    try {
      for (const f of offer.files) for await (const _ of files.read(f.sha256)) { /* sent */ }
      return { status: 'accepted', numaNode: 0, sentFiles: offer.files.length }
    } catch (err) {
      return { status: 'rejected', reason: `push to ${p} failed: ${(err as Error).message}`, sentFiles: 0 }
    }
  }
  const staged = async (t: { after: (fn: () => Promise<void>) => void }): Promise<{ path: string, task: TaskSpec }> => {
    const dir = await mkdtemp(join(tmpdir(), 'mesh-changed-'))
    t.after(async () => { await rm(dir, { recursive: true, force: true }) })
    const path = join(dir, 'input.bin')
    await writeFile(path, 'version 1')
    return { path, task: { ...spec(3), files: [{ src: path, dest: 'input.bin', readOnly: false }] } }
  }

  it('ends the task at once with one line naming the file (exit 2), trying no other runner', async (t) => {
    const { path, task } = await staged(t)
    let first = true
    const h = harness({
      pushReply: async (p, offer, files) => {
        // written after submit hashed it: a copy still running, a build still writing
        if (first) { first = false; await sleep(20); await appendFile(path, ' and more') }
        return reading(p, offer, files)
      }
    })
    t.after(async () => { await h.d.stop() })
    const id = await h.d.submit({ spec: task, all: false, waitMs: 10_000 })
    const line = `${path} changed after it was hashed for this task (still being written?); push again once it is complete`
    // what `mesh push` waits on: the error itself, so the CLI exits 2 with this line
    await assert.rejects(events(h.d, id), (err: Error & { exitCode?: number }) => err.message === line && err.exitCode === 2)
    assert.equal(h.offers.length, 1, 'no other runner was offered what cannot succeed')
    const record = await h.records.get(id)
    assert.equal(record?.state, 'rejected')
    assert.equal(record?.error, `dispatch failed: ${line}`)
  })

  it('--all: every child ends rejected with that line instead of retrying until the wait ends', async (t) => {
    const { path, task } = await staged(t)
    let changed: Promise<void> | undefined
    const h = harness({
      pushReply: async (p, offer, files) => {
        // both offers are out before the file changes; neither reads it before
        changed ??= sleep(20).then(async () => { await appendFile(path, ' and more') })
        await changed
        return reading(p, offer, files)
      }
    })
    t.after(async () => { await h.d.stop() })
    const id = await h.d.submit({ spec: task, all: true, waitMs: 30_000 })
    // no child placed: the group fails as a whole, well before its 30 s wait (events() gives up at 20 s)
    await assert.rejects(events(h.d, id), (err: Error & { exitCode?: number }) => /input\.bin changed after it was hashed/.test(err.message) && err.exitCode === 2)
    assert.equal(h.offers.length, 2, 'one offer per child, none again')
    const children = (await h.records.group(id)).filter(r => r.id !== id)
    assert.deepEqual(children.map(r => r.state), ['rejected', 'rejected'])
    for (const r of children) assert.match(r.error ?? '', /^not placed on .*: push to .* failed: .*input\.bin changed after it was hashed/)
  })
})
