import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { emptyUsage } from '../../../src/node/advert.js'
import { silentLogger } from '../../../src/node/logger.js'
import { Runner, RunJournal } from '../../../src/node/runner/index.js'
import { TaskRecords } from '../../../src/node/store/task-records.js'
import type { Executor } from '../../../src/exec/index.js'
import type { TaskOffer } from '../../../src/protocols/push/index.js'
import { memDb } from '../../helpers/mem-db.js'


function offer (id: string): TaskOffer {
  return {
    v: 1, id, group: id, attempt: 1, dispatcher: 'D', submittedAt: new Date().toISOString(), name: 't', command: ['true'], shell: false,
    env: {}, cwd: null, tags: [], resources: { cores: 1, memoryMB: 0, gpus: 0, numa: 'any' }, timeoutSec: 60, files: []
  }
}

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
    const log = silentLogger()
    const runner = new Runner({
      peerId: 'R',
      name: () => 'r',
      tags: () => [],
      home,
      capabilities: { cores: 2, memoryMB: 1024, numaNodes: [{ id: 0, cpus: [0, 1], memoryMB: 1024 }], gpus: [], numactl: false },
      usage: emptyUsage(),
      executor,
      records: new TaskRecords(memDb(), log),
      publish: async () => {},
      capacityChanged: () => {},
      journal: new RunJournal(memDb()),
      log
    })
    const session = await runner.open(offer('t1'), 'D')
    assert.equal(session.reply.status, 'reserved')
    const final = await session.commit()
    assert.equal(final.status, 'rejected')
    // the task never started: it must not look as if it runs here (mesh cancel / mesh logs -f rely on this)
    assert.equal(runner.isRunningHere('t1'), false, 'a task whose launch failed is still listed as running')
    await runner.stop()
  })
})
