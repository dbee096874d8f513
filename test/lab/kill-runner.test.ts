/**
 * Issue 5: kill -9 a runner mid-task → the task finishes on another peer. Two hosts hold the tag
 * `pair`; the task (retries: 1) starts on one of them, whose daemon is then SIGKILLed (first the
 * daemon alone, its task living on as an orphan; then the whole host, every process). The
 * dispatcher must notice, and run attempt 2 on the other peer; once the killed host is back, every
 * node holds that final record.
 */
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { after, afterEach, before, describe, it } from 'node:test'
import { NetLab, brief, executions, netlabSkip, settled } from '../helpers/netlab.js'

describe('kill -9 a runner mid-task', { skip: netlabSkip() }, () => {
  const lab = new NetLab({ hosts: 3, tags: [['h1'], ['h2', 'pair'], ['h3', 'pair']] })
  let runs: string
  before(async () => {
    await lab.up()
    runs = join(lab.shared, 'runs.log')
  })
  // a failed test must not leave the next one a host short
  afterEach(async () => { await lab.restore() })
  after(() => { lab.down() })

  async function killMidTask (everything: boolean): Promise<void> {
    const id = await lab.pushTask(1, {
      name: everything ? 'host-dies' : 'daemon-dies',
      command: ['sh', '-c', `echo "attempt $MESH_ATTEMPT on $(hostname -I)"; sleep 20; echo "$MESH_TASK_ID $MESH_ATTEMPT" >> ${runs}`],
      tags: ['pair'],
      retries: 1
    })
    const first = await lab.waitRunning(1, id)
    const victim = lab.byId(first.runner)
    assert.ok(victim != null && victim.index !== 1, `attempt 1 runs on ${first.runner ?? '?'}`)
    const survivor = lab.host(victim.index === 2 ? 3 : 2)
    // let the task really start on the runner before it dies
    await lab.waitFor('the task started on its runner', async () => (await lab.cli(victim.index, ['logs', id])).stdout.includes('attempt 1'), 30_000)
    lab.kill(victim.index, { everything })

    const final = await lab.waitEnded(1, id, 1)
    assert.equal(final.state, 'succeeded', `final record: ${brief(final)} ${final.error ?? ''}\n${lab.diagnose(id)}`)
    assert.equal(final.attempt, 2)
    assert.equal(final.runner, survivor.id)
    assert.match(final.stdout, new RegExp(`attempt 2 on ${survivor.ip.replaceAll('.', '\\.')}`))
    assert.equal(settled(await lab.status(survivor.index, id)), settled(final), 'the surviving runner holds the same record')

    // the killed host comes back and learns the outcome; a late attempt-1 result must not win
    await lab.restart(victim.index)
    await lab.waitMesh()
    await lab.waitFor('every host holds the final record', async () => {
      const all = await lab.statusEverywhere(id)
      if (all.every(r => settled(r) === settled(final))) return true
      throw new Error(all.map(brief).join(' | '))
    }, 120_000)
    const done = executions(runs).get(id) ?? []
    console.log(`# ${everything ? 'host' : 'daemon'} killed: task ${id} completed ${done.length} time(s), attempts ${done.join(',') || '-'}`)
    assert.ok(done.includes(2), `attempt 2 left no line in ${runs}`)
  }

  it('the daemon alone (its task lives on as an orphan): attempt 2 succeeds on the other peer', async () => {
    await killMidTask(false)
  })

  it('the whole host (every process of it): attempt 2 succeeds on the other peer', async () => {
    await killMidTask(true)
  })
})
