/**
 * Issue 5: cut a host's link for 30 s and restore it → every node converges, tasks on the far
 * side finish and their results arrive. host4 is cut off while it runs a task host1 gave it;
 * during the cut host4 dispatches a task to itself and one it cannot place yet (tag h2), and host1
 * runs a task on the near side. After the heal, every host holds the same final record of each.
 */
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { after, before, describe, it } from 'node:test'
import { NetLab, brief, executions, netlabSkip, settled } from '../helpers/netlab.js'

const CUT_MS = 30_000

describe('cut a host\'s link for 30 s, then heal it', { skip: netlabSkip() }, () => {
  const lab = new NetLab({ hosts: 4 })
  let runs: string
  before(async () => {
    await lab.up()
    runs = join(lab.shared, 'runs.log')
  })
  after(() => { lab.down() })

  const cmd = (label: string, seconds: number): string[] =>
    ['sh', '-c', `sleep ${seconds}; echo "$MESH_TASK_ID $MESH_ATTEMPT" >> ${runs}; echo "${label} attempt $MESH_ATTEMPT on $(hostname -I)"`]

  it('every node converges and the far side\'s tasks finish with their results everywhere', async () => {
    const [h1, h2, , h4] = [lab.host(1), lab.host(2), lab.host(3), lab.host(4)]
    // A: host1 → host4, running when the cable is cut, done long before it is back
    const A = { label: 'A', runner: h4.id, id: await lab.pushTask(1, { name: 'far-running', command: cmd('A', 10), tags: ['h4'], retries: 1 }) }
    await lab.waitRunning(1, A.id)

    lab.cut(4)
    const cutAt = Date.now()
    // B: host4 → itself, during the cut; D: host4 → host2, unreachable until the heal
    const B = { label: 'B', runner: h4.id, id: await lab.pushTask(4, { name: 'far-local', command: cmd('B', 2), tags: ['h4'], retries: 1 }) }
    const D = { label: 'D', runner: h2.id, id: await lab.pushTask(4, { name: 'far-to-near', command: cmd('D', 1), tags: ['h2'], retries: 1 }, ['--wait', '300']) }
    // C: host1 → host2 on the near side during the cut
    const C = { label: 'C', runner: h2.id, id: await lab.pushTask(1, { name: 'near', command: cmd('C', 1), tags: ['h2'], retries: 1 }) }

    await lab.waitFor('host1 sees host4 offline during the cut', async () => (await lab.peers(1)).find(p => p.id === h4.id)?.state === 'offline', CUT_MS)
    const b = await lab.waitFor('B done on host4 during the cut', async () => {
      const r = await lab.status(4, B.id)
      return r?.state === 'succeeded' ? r : undefined
    }, CUT_MS)
    assert.equal(b.runner, h4.id)
    console.log(`# during the cut: A on host4 ${brief(await lab.status(4, A.id))}, A on host1 ${brief(await lab.status(1, A.id))}, C on host1 ${brief(await lab.status(1, C.id))}, D on host4 ${brief(await lab.status(4, D.id))}`)
    await sleep(Math.max(0, CUT_MS - (Date.now() - cutAt)))
    lab.heal(4)
    const healedAt = Date.now()

    await lab.waitMesh()
    const ids = [A, B, C, D]
    await lab.waitFor('every host holds the same final record of every task', async () => {
      const problems: string[] = []
      for (const t of ids) {
        const all = await lab.statusEverywhere(t.id)
        if (!all.every(r => r?.state === 'succeeded' && settled(r) === settled(all[0]))) problems.push(`${t.label}: ${all.map(brief).join(' | ')}`)
      }
      if (problems.length > 0) throw new Error(problems.join('; '))
      return true
    }, 180_000)
    console.log(`# converged ${((Date.now() - healedAt) / 1000).toFixed(1)} s after the heal`)

    for (const t of ids) {
      const r = await lab.status(h1.index, t.id)
      assert.equal(r?.runner, t.runner, `${t.label} ran on ${r?.runnerName ?? '?'}`)
      assert.match(r?.stdout ?? '', new RegExp(`^${t.label} attempt \\d+ on `))
    }
    // every node's list agrees too
    const lists = await Promise.all(lab.hosts.map(async h => (await lab.tasks(h.index)).filter(r => ids.some(t => t.id === r.id)).map(settled).sort()))
    for (const l of lists) assert.deepEqual(l, lists[0])
    const ex = executions(runs)
    console.log(`# executions: ${ids.map(t => `${t.label}=${ex.get(t.id)?.join(',') ?? '-'}`).join(' ')}`)
    for (const t of ids) assert.ok((ex.get(t.id)?.length ?? 0) >= 1, `${t.label} never completed`)
  })
})
