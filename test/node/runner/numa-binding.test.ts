import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { emptyUsage } from '../../../src/node/advert.js'
import { silentLogger } from '../../../src/node/logger.js'
import { Runner, RunJournal } from '../../../src/node/runner/index.js'
import { TaskRecords } from '../../../src/node/store/task-records.js'
import type { Capabilities } from '../../../src/node/capabilities/index.js'
import type { Executor, LaunchSpec } from '../../../src/exec/index.js'
import type { TaskOffer } from '../../../src/protocols/push/index.js'
import { memDb } from '../../helpers/mem-db.js'

function offer (id: string): TaskOffer {
  return {
    v: 1, id, group: id, attempt: 1, dispatcher: 'D', submittedAt: new Date().toISOString(), name: 't', command: ['true'], shell: false,
    env: {}, cwd: null, tags: [], resources: { cores: 1, memoryMB: 0, gpus: 0, numa: 'any' }, timeoutSec: 60, files: []
  }
}

/** The spec the runner hands its executor for one task on a machine with these NUMA nodes. */
async function launchSpecOn (home: string, numaNodes: Capabilities['numaNodes']): Promise<LaunchSpec> {
  let seen: LaunchSpec | undefined
  const executor = {
    name: 'process',
    available: async () => ({ ok: true }),
    // capture and refuse: nothing is started, the runner forgets the task
    launch: async (spec: LaunchSpec) => { seen = spec; throw new Error('captured') },
    shutdown: async () => {}
  } as unknown as Executor
  const log = silentLogger()
  const runner = new Runner({
    peerId: 'R',
    name: () => 'r',
    tags: () => [],
    home,
    capabilities: { cores: 4, memoryMB: 2048, numaNodes, gpus: [], numactl: true },
    usage: emptyUsage(),
    executor,
    records: new TaskRecords(memDb(), log),
    publish: async () => {},
    capacityChanged: () => {},
    journal: new RunJournal(memDb()),
    log
  })
  try {
    const session = await runner.open(offer(`t${numaNodes.length}`), 'D')
    assert.equal(session.reply.status, 'reserved')
    await session.commit()
  } finally {
    await runner.stop()
  }
  assert.ok(seen !== undefined, 'the executor was never asked to launch')
  return seen
}

describe('runner: NUMA binding of a launched task', () => {
  let home = ''
  after(async () => { if (home !== '') await rm(home, { recursive: true, force: true }) })

  it('binds with numactl on a two-node machine, not on a single-node one', async () => {
    home = await mkdtemp(join(tmpdir(), 'mesh-numa-bind-'))
    const two = await launchSpecOn(home, [{ id: 0, cpus: [0, 1], memoryMB: 1024 }, { id: 1, cpus: [2, 3], memoryMB: 1024 }])
    assert.equal(two.numactl, true)
    assert.equal(typeof two.numaNode, 'number')
    const one = await launchSpecOn(home, [{ id: 0, cpus: [0, 1, 2, 3], memoryMB: 2048 }])
    assert.equal(one.numactl, false)
    // still placed on (and reported as) node 0: MESH_NUMA_NODE and the record keep saying so
    assert.equal(one.numaNode, 0)
  })
})
