/**
 * Issue 5: kill the dispatcher mid-task → after restart it has the result. host1 pushes a task
 * that runs on host2, and its daemon is SIGKILLed while the task runs; restarted with the same
 * home, `mesh status ID --json` on host1 shows the same final record as the runner. Once with the
 * task finishing while the dispatcher is down (the result must be caught up after the restart),
 * once with the dispatcher back before the task ends (the result arrives live).
 */
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { after, afterEach, before, describe, it } from 'node:test'
import { NetLab, brief, executions, netlabSkip, settled } from '../helpers/netlab.js'
import type { TaskRecord } from '../../src/protocols/results/index.js'

describe('kill -9 the dispatcher mid-task', { skip: netlabSkip() }, () => {
  const lab = new NetLab({ hosts: 3 })
  let runs: string
  before(async () => {
    await lab.up()
    runs = join(lab.shared, 'runs.log')
  })
  afterEach(async () => { await lab.restore() })
  after(() => { lab.down() })

  async function pushLong (seconds: number): Promise<string> {
    const id = await lab.pushTask(1, {
      name: `dispatcher-dies-${seconds}s`,
      command: ['sh', '-c', `sleep ${seconds}; echo "$MESH_TASK_ID $MESH_ATTEMPT" >> ${runs}; echo finished attempt $MESH_ATTEMPT`],
      tags: ['h2'],
      retries: 1
    })
    const rec = await lab.waitRunning(1, id)
    assert.equal(rec.runner, lab.host(2).id)
    return id
  }

  async function finalOn (k: number, id: string): Promise<TaskRecord> {
    return lab.waitEnded(k, id, 1, 120_000)
  }

  it('the task ends while the dispatcher is down: after its restart it has the result', async () => {
    const id = await pushLong(8)
    lab.kill(1)
    const onRunner = await finalOn(2, id)
    assert.equal(onRunner.state, 'succeeded', `${brief(onRunner)} ${onRunner.error ?? ''}`)
    assert.equal(settled(await finalOn(3, id)), settled(onRunner), 'host3 holds the runner\'s record')

    await lab.restart(1)
    const back = await finalOn(1, id)
    assert.equal(settled(back), settled(onRunner), `host1 after restart: ${brief(back)}; runner: ${brief(onRunner)}`)
    assert.match(back.stdout, /finished attempt 1/)
    console.log(`# task ${id} completed ${executions(runs).get(id)?.length ?? 0} time(s)`)
  })

  it('the dispatcher is back before the task ends: the result arrives on it', async () => {
    const id = await pushLong(15)
    lab.kill(1)
    await sleep(3_000)
    await lab.restart(1)
    const back = await finalOn(1, id)
    const onRunner = await finalOn(2, id)
    assert.equal(back.state, 'succeeded', `${brief(back)} ${back.error ?? ''}`)
    assert.equal(settled(back), settled(onRunner))
    const done = executions(runs).get(id) ?? []
    console.log(`# task ${id} completed ${done.length} time(s), attempts ${done.join(',') || '-'}`)
    assert.ok(done.length >= 1)
  })
})
