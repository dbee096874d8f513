import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { ReleasedCapacity } from '../../../src/node/dispatch/released.js'
import type { Candidate } from '../../../src/node/placement/index.js'

function peer (freeCores: number[]): Candidate {
  return {
    peerId: 'P1',
    name: 'p1',
    online: true,
    tags: [],
    numa: freeCores.map((free, id) => ({ id, cores: 4, freeCores: free, memoryMB: 1000, freeMemoryMB: 1000 - free * 100 })),
    gpus: 0,
    freeGpus: 0,
    running: 0,
    numactl: true
  }
}

describe('released capacity: a runner\'s freed slots count before its next advert shows them', () => {
  it('adds what ended after the advert was sent, per NUMA node, capped at the node\'s size', () => {
    const r = new ReleasedCapacity()
    r.note('P1', { numaNode: 0, cores: 1, memoryMB: 100, finishedAt: 2_000 })
    r.note('P1', { numaNode: 1, cores: 2, memoryMB: 300, finishedAt: 2_500 })
    r.note('P1', { numaNode: 1, cores: 3, memoryMB: 300, finishedAt: 2_600 })
    const seen = r.apply(peer([0, 1]), 1_000)
    assert.deepEqual(seen.numa.map(n => [n.freeCores, n.freeMemoryMB]), [[1, 1000], [4, 1000]])
  })

  it('forgets a release once an advert sent after it arrives: the advert counts it already', () => {
    const r = new ReleasedCapacity()
    r.note('P1', { numaNode: 0, cores: 1, memoryMB: 0, finishedAt: 2_000 })
    r.note('P1', { numaNode: 0, cores: 1, memoryMB: 0, finishedAt: 3_000 })
    assert.equal(r.apply(peer([0]), 2_000).numa[0]?.freeCores, 1, 'only the release after the advert')
    assert.equal(r.apply(peer([0]), 3_000).numa[0]?.freeCores, 0)
    assert.equal(r.apply(peer([0]), 1_000).numa[0]?.freeCores, 0, 'forgotten, not revived by an older advert')
  })

  it('leaves other peers and peers without releases as they are', () => {
    const r = new ReleasedCapacity()
    r.note('P2', { numaNode: 0, cores: 1, memoryMB: 0, finishedAt: 2_000 })
    const p = peer([0])
    assert.equal(r.apply(p, 1_000), p)
  })
})
