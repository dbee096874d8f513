import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { buildAdvert, emptyUsage } from '../../src/node/advert.js'
import { createAdvertValidator } from '../../src/protocols/heartbeat/advert.js'
import type { AdvertSource, Usage } from '../../src/node/advert.js'
import type { Capabilities } from '../../src/node/capabilities/index.js'

/** Two NUMA nodes of 4 CPUs and 8 GiB each, one GPU. */
const CAPS: Capabilities = {
  cores: 8,
  memoryMB: 16384,
  numaNodes: [{ id: 0, cpus: [0, 1, 2, 3], memoryMB: 8192 }, { id: 1, cpus: [4, 5, 6, 7], memoryMB: 8192 }],
  gpus: [{ index: 0, name: 'NVIDIA A100-SXM4-40GB', memoryMB: 40960, uuid: 'GPU-1234' }],
  numactl: true
}

function source (over: Partial<AdvertSource> = {}): AdvertSource {
  return { name: 'rack1', version: '0.1.0', tags: ['xai'], addresses: ['/ip4/10.0.0.1/tcp/7420'], capabilities: CAPS, usage: emptyUsage(), ...over }
}

function usage (cores: Array<[number, number]>, memoryMB: Array<[number, number]> = [], running = 0): Usage {
  return { running, cores: new Map(cores), memoryMB: new Map(memoryMB) }
}

describe('buildAdvert', () => {
  it('an idle node advertises all its cores and memory free', () => {
    const a = buildAdvert(source())
    assert.deepEqual(a.numa, [
      { id: 0, cores: 4, freeCores: 4, memoryMB: 8192, freeMemoryMB: 8192 },
      { id: 1, cores: 4, freeCores: 4, memoryMB: 8192, freeMemoryMB: 8192 }
    ])
    assert.equal(a.cores, 8)
    assert.equal(a.memoryMB, 16384)
    assert.equal(a.running, 0)
    assert.equal(a.numactl, true)
    assert.equal(a.name, 'rack1')
    assert.deepEqual(a.tags, ['xai'])
  })

  it('free cores and memory per NUMA node reflect usage', () => {
    const a = buildAdvert(source({ usage: usage([[1, 2]], [[0, 1000]], 1) }))
    assert.deepEqual(a.numa.map(n => [n.id, n.freeCores, n.freeMemoryMB]), [[0, 4, 7192], [1, 2, 8192]])
    assert.equal(a.running, 1)
  })

  it('never advertises negative free capacity', () => {
    const a = buildAdvert(source({ usage: usage([[0, 9], [1, 4]], [[1, 99_999]]) }))
    assert.deepEqual(a.numa.map(n => [n.freeCores, n.freeMemoryMB]), [[0, 8192], [0, 0]])
  })

  it('ignores usage of a NUMA node it does not have', () => {
    const a = buildAdvert(source({ usage: usage([[7, 2]], [[7, 100]]) }))
    assert.deepEqual(a.numa.map(n => n.freeCores), [4, 4])
  })

  it('maps GPUs to index, name and memory only', () => {
    assert.deepEqual(buildAdvert(source()).gpus, [{ index: 0, name: 'NVIDIA A100-SXM4-40GB', memoryMB: 40960 }])
  })

  it('a memory-only NUMA node has no cores to offer', () => {
    const caps: Capabilities = { ...CAPS, numaNodes: [...CAPS.numaNodes, { id: 2, cpus: [], memoryMB: 65536 }] }
    const a = buildAdvert(source({ capabilities: caps }))
    assert.deepEqual(a.numa[2], { id: 2, cores: 0, freeCores: 0, memoryMB: 65536, freeMemoryMB: 65536 })
  })

  it('caps addresses at the 32 the advert schema allows', () => {
    const addresses = Array.from({ length: 40 }, (_, i) => `/ip4/10.0.0.${i}/tcp/7420`)
    assert.equal(buildAdvert(source({ addresses })).addresses.length, 32)
  })

  it('produces a body that, stamped, passes the heartbeat schema', () => {
    const validate = createAdvertValidator()
    const stamped = { v: 1, ...buildAdvert(source({ usage: usage([[0, 2]], [], 1) })), peerId: 'p', seq: 1, sentAt: 1, leaving: false }
    assert.ok(validate(stamped), validate.lastError())
  })

  it('does not alias the usage or capabilities it was given', () => {
    const src = source()
    const a = buildAdvert(src)
    a.gpus.push({ index: 9, name: 'x', memoryMB: 1 })
    a.addresses.push('/ip4/1.1.1.1/tcp/1')
    assert.equal(CAPS.gpus.length, 1)
    assert.equal(src.addresses.length, 1)
  })
})
