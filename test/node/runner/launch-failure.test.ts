import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import type { Executor } from '../../../src/exec/index.js'
import { taskOffer, testRunner } from '../../helpers/runner.js'

describe('runner when the executor cannot launch', () => {
  let home = ''
  after(async () => { if (home !== '') await rm(home, { recursive: true, force: true }) })

  it('forgets the task: not "running here", and a stop does not wait for it', async () => {
    home = await mkdtemp(join(tmpdir(), 'mesh-review-'))
    const executor = {
      name: 'process',
      available: async () => ({ ok: true }),
      launch: async () => { throw new Error('launch failed (nothing started)') },
      shutdown: async () => {}
    } as unknown as Executor
    const runner = testRunner(home, { executor })
    const session = await runner.open(taskOffer('t1'), 'D')
    assert.equal(session.reply.status, 'reserved')
    const final = await session.commit()
    assert.equal(final.status, 'rejected')
    // the task never started: it must not look as if it runs here (mesh cancel / mesh logs -f rely on this)
    assert.equal(runner.isRunningHere('t1'), false, 'a task whose launch failed is still listed as running')
    await runner.stop()
  })
})
