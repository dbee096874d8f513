import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { bindsNuma } from '../../../src/node/capabilities/index.js'

const node = (id: number, cpus: number[]): { id: number, cpus: number[], memoryMB: number } => ({ id, cpus, memoryMB: 1024 })

describe('bindsNuma', () => {
  it('binds on a machine with more than one NUMA node and numactl', () => {
    assert.equal(bindsNuma({ numactl: true, numaNodes: [node(0, [0, 1]), node(1, [2, 3])] }), true)
    // a memory-only node (CXL, HBM) is still a choice: membind keeps a task off it
    assert.equal(bindsNuma({ numactl: true, numaNodes: [node(0, [0, 1]), node(1, [])] }), true)
  })

  it('does not start numactl where the only node is the whole machine', () => {
    assert.equal(bindsNuma({ numactl: true, numaNodes: [node(0, [0, 1, 2, 3])] }), false)
  })

  it('cannot bind without numactl', () => {
    assert.equal(bindsNuma({ numactl: false, numaNodes: [node(0, [0, 1]), node(1, [2, 3])] }), false)
  })
})
