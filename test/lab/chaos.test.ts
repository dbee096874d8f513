/**
 * Issue 5: a chaos run. Two dispatchers (host1, host2) push a few hundred short tasks (retries: 3)
 * for three runners (host3…host5, tag `work`) while a loop kill -9s a random runner — its daemon,
 * or now and then the whole host — and restarts it a few seconds later. At the end every task is
 * in a final state on its dispatcher and none is lost. Each run of a task appends
 * "<id> <attempt>" to a shared file, so duplicates (a task completed more than once) are counted
 * and reported; they are not an error.
 */
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { after, before, describe, it } from 'node:test'
import { NetLab, brief, endedForGood, executions, netlabSkip } from '../helpers/netlab.js'
import type { TaskRecord } from '../../src/protocols/results/index.js'

const TASKS = Number(process.env.MESH_CHAOS_TASKS ?? 200)
const PUSHERS = 3
const DISPATCHERS = [1, 2]
const RUNNERS = [3, 4, 5]
const MAX_KILLS = 20
const RETRIES = 3

describe('chaos: random runner kills and restarts under load', { skip: netlabSkip() }, () => {
  // info logs: debug lines for hundreds of tasks cost the two cores more than the test itself
  const lab = new NetLab({ hosts: 5, tags: [['h1'], ['h2'], ['h3', 'work'], ['h4', 'work'], ['h5', 'work']], logLevel: 'info' })
  before(async () => { await lab.up() })
  after(() => { lab.down() })

  it(`${TASKS} tasks end in a final state on their dispatcher, none lost; duplicates are counted`, async () => {
    const started = Date.now()
    const starts = join(lab.shared, 'starts.log')
    const ends = join(lab.shared, 'ends.log')
    // five tasks of different lengths (0.5 … 2.5 s)
    const texts = Array.from({ length: 5 }, (_, v) => JSON.stringify({
      name: `chaos-${v}`,
      command: ['sh', '-c', `echo "$MESH_TASK_ID $MESH_ATTEMPT $(hostname -I)" >> ${starts}; sleep ${(v + 1) / 2}; echo "$MESH_TASK_ID $MESH_ATTEMPT $(hostname -I)" >> ${ends}`],
      tags: ['work'],
      retries: RETRIES
    }))

    // the chaos loop: a runner down every few seconds until every task is final (or MAX_KILLS),
    // each brought back 1-3 s later
    let stop = false
    const faults: string[] = []
    const chaos = (async () => {
      while (!stop && faults.length < MAX_KILLS) {
        await sleep(2_000 + Math.random() * 2_000)
        if (stop) break
        const k = RUNNERS[Math.floor(Math.random() * RUNNERS.length)]!
        const everything = faults.length % 4 === 3
        lab.kill(k, { everything })
        faults.push(`host${k}${everything ? ' (whole host)' : ''} at ${((Date.now() - started) / 1000).toFixed(0)} s`)
        await sleep(1_000 + Math.random() * 2_000)
        await lab.restart(k)
      }
    })()

    // pushers: dispatchers alternate; the CLI's client in-process (a CLI process per task would
    // cost 0.6 s of CPU each: `mesh push` itself is covered by the other lab tests)
    const dispatcherOf = new Map<string, number>()
    const pushErrors: string[] = []
    let next = 0
    await Promise.all(Array.from({ length: PUSHERS }, async () => {
      for (let i = next++; i < TASKS; i = next++) {
        const k = DISPATCHERS[i % DISPATCHERS.length]!
        try {
          const id = await lab.submit(k, texts[i % texts.length]!, { waitSec: 900 })
          dispatcherOf.set(id, k)
        } catch (err) {
          pushErrors.push((err as Error).message)
        }
      }
    }))
    const pushedIn = (Date.now() - started) / 1000

    const final = new Map<string, TaskRecord>()
    const collect = async (): Promise<string[]> => {
      for (const k of DISPATCHERS) {
        if (!lab.running(k)) continue
        for (const r of await lab.tasks(k)) if (dispatcherOf.get(r.id) === k && endedForGood(r, RETRIES)) final.set(r.id, r)
      }
      return [...dispatcherOf.keys()].filter(id => !final.has(id))
    }
    // the chaos goes on while tasks are open
    while (faults.length < MAX_KILLS && (await collect()).length > 0) await sleep(2_000)
    stop = true
    await chaos
    await lab.restore()

    await lab.waitFor('every task final on its dispatcher', async () => {
      const open = await collect()
      if (open.length > 0) {
        const sample = await Promise.all(open.slice(0, 5).map(async id => `${id}@host${dispatcherOf.get(id) ?? '?'}: ${brief(await lab.status(dispatcherOf.get(id) ?? 1, id))}`))
        throw new Error(`${open.length} not final, e.g. ${sample.join('; ')}`)
      }
      return true
    }, 480_000, 2_000)
    const settledIn = (Date.now() - started) / 1000

    // the report
    const states = new Map<string, number>()
    for (const r of final.values()) states.set(r.state, (states.get(r.state) ?? 0) + 1)
    const attempts = new Map<number, number>()
    for (const r of final.values()) attempts.set(r.attempt, (attempts.get(r.attempt) ?? 0) + 1)
    const began = executions(starts)
    const done = executions(ends)
    const ids = [...dispatcherOf.keys()]
    const dupDone = ids.filter(id => (done.get(id)?.length ?? 0) > 1)
    const dupStarts = ids.filter(id => (began.get(id)?.length ?? 0) > 1)
    // reliability.md: "two runs never share an attempt number"
    const sameAttempt = ids.filter(id => { const a = done.get(id) ?? []; return new Set(a).size < a.length })
    const succeeded = ids.filter(id => final.get(id)?.state === 'succeeded')
    const missing = succeeded.filter(id => (done.get(id)?.length ?? 0) === 0)
    const lost = ids.filter(id => final.get(id)?.state === 'lost')
    const tally = (m: Map<string | number, number>): string => [...m].sort().map(([k, v]) => `${k}=${v}`).join(' ')
    console.log([
      `# chaos: ${TASKS} tasks pushed (${dispatcherOf.size} accepted, ${pushErrors.length} push errors) in ${pushedIn.toFixed(0)} s; all final ${settledIn.toFixed(0)} s after the start`,
      `# ${faults.length} runner kills: ${faults.join(', ')}`,
      `# final states: ${tally(states)}; final attempts: ${tally(attempts)}`,
      `# executions started ${[...began.values()].reduce((n, a) => n + a.length, 0)}, completed ${[...done.values()].reduce((n, a) => n + a.length, 0)}`,
      `# duplicates: ${dupDone.length} task(s) completed more than once, ${dupStarts.length} started more than once${dupDone.length > 0 ? ` (e.g. ${dupDone.slice(0, 5).map(id => `${id}:${done.get(id)?.join(',') ?? ''}`).join(' ')})` : ''}`,
      `# same attempt completed twice: ${sameAttempt.length}`,
      ...readFileSync(ends, 'utf8').split('\n').filter(l => sameAttempt.slice(0, 5).some(id => l.startsWith(`${id} `))).map(l => `#   run: ${l}`),
      `# succeeded without a completed run in the log: ${missing.length}; lost: ${lost.length}`,
      ...[...final.values()].filter(r => r.state !== 'succeeded').slice(0, 10).map(r => `#   ${r.id}: ${brief(r)} ${r.error ?? ''}`)
    ].join('\n'))

    assert.deepEqual(pushErrors, [])
    assert.equal(final.size, TASKS)
    assert.deepEqual(lost.map(id => brief(final.get(id))), [], 'lost tasks')
    assert.deepEqual(missing, [], 'tasks reported succeeded that never completed a run')
  })
})
