import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import type { Capabilities } from '../../../src/node/capabilities/index.js'
import type { Executor, LaunchSpec } from '../../../src/exec/index.js'
import { taskOffer, testRunner } from '../../helpers/runner.js'

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
  const runner = testRunner(home, { executor, capabilities: { cores: 4, memoryMB: 2048, numaNodes, gpus: [], numactl: true } })
  try {
    const session = await runner.open(taskOffer(`t${numaNodes.length}`), 'D')
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
