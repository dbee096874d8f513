import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { summarize } from '../../../src/node/capabilities/index.js'

describe('summarize', () => {
  it('describes a two-node machine without GPUs', () => {
    assert.equal(summarize({
      cores: 8,
      memoryMB: 32000,
      numaNodes: [{ id: 0, cpus: [0, 1, 2, 3], memoryMB: 16000 }, { id: 1, cpus: [4, 5, 6, 7], memoryMB: 16000 }],
      gpus: [],
      numactl: true
    }), '8 cores, 31.3 GiB, 2 NUMA nodes (0: 0-3, 1: 4-7), no GPU')
  })

  it('uses singulars, marks memory-only nodes and lists GPUs', () => {
    assert.equal(summarize({
      cores: 1,
      memoryMB: 1024,
      numaNodes: [{ id: 0, cpus: [0], memoryMB: 512 }, { id: 1, cpus: [], memoryMB: 512 }],
      gpus: [{ index: 0, name: 'Tesla T4', memoryMB: 15360 }],
      numactl: false
    }), '1 core, 1.0 GiB, 2 NUMA nodes (0: 0, 1: memory only), 1 GPU (0: Tesla T4 15.0 GiB)')
  })
})
