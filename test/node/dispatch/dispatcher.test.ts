import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { Dispatcher } from '../../../src/node/dispatch/index.js'
import { silentLogger } from '../../../src/node/logger.js'
import { TaskRecords } from '../../../src/node/store/task-records.js'
import type { DispatcherComponents } from '../../../src/node/dispatch/dispatcher.js'
import type { TaskSpec } from '../../../src/node/task/index.js'
import { memDb } from '../../helpers/mem-db.js'


const numa = [{ id: 0, cores: 2, freeCores: 2, memoryMB: 1024, freeMemoryMB: 1024 }]
const peer = (id: string): unknown => ({ state: 'online', advert: { peerId: id, name: 'twin', tags: [], numa, gpus: [], running: 0, numactl: false } })

/** One layer: the dispatcher with in-memory stores and a fake peer table (no network). */
describe('dispatcher: no task is left queued by a dispatch that cannot proceed', () => {
  it('an ambiguous --target name is refused at submit (exit 2) and nothing is queued', async () => {
    const log = silentLogger()
    const records = new TaskRecords(memDb(), log)
    const c = {
      peerId: 'SELF',
      name: () => 'self',
      table: { list: () => [peer('P1'), peer('P2')] },
      self: () => ({ peerId: 'SELF', name: 'self', online: true, tags: [], numa, gpus: 0, freeGpus: 0, running: 0, numactl: false }),
      records,
      publish: async (r: Parameters<TaskRecords['put']>[0]) => { await records.put(r) },
      queue: memDb(),
      log
    } as unknown as DispatcherComponents
    const d = new Dispatcher(c)
    const spec: TaskSpec = { name: 't', command: ['true'], shell: false, env: {}, cwd: null, tags: [], resources: { cores: 1, memoryMB: 0, gpus: 0, numa: 'any' }, timeoutSec: 10, retries: 0, files: [] }
    await assert.rejects(d.submit({ spec, target: { peer: 'twin' }, all: false, waitMs: 200 }), (err: Error & { exitCode?: number }) => {
      assert.match(err.message, /2 peers have that name/)
      assert.equal(err.exitCode, 2)
      return true
    })
    await d.stop()
    assert.deepEqual(await records.list(), [])
  })
})
