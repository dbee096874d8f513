import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { PlacementWaits } from '../../../src/node/dispatch/waits.js'
import type { Candidate, PlacementRequest } from '../../../src/node/placement/index.js'

const HOUR = 3_600_000

function peer (freeCores: number[], over: Partial<Candidate> = {}): Candidate {
  return {
    peerId: 'P1',
    name: 'p1',
    online: true,
    tags: ['big'],
    numa: freeCores.map((free, id) => ({ id, cores: 16, freeCores: free, memoryMB: 8192, freeMemoryMB: 8192 })),
    gpus: 0,
    freeGpus: 0,
    running: 0,
    numactl: true,
    ...over
  }
}

function request (taskId: string, over: Partial<PlacementRequest> = {}): PlacementRequest {
  return { taskId, tags: ['big'], cores: 1, memoryMB: 0, gpus: 0, numa: 'any', ...over }
}

/** Starts waits that only a wake (or the test's abort) can end; `woken` lists them in the order they ended. */
function waiting (waits: PlacementWaits, requests: PlacementRequest[]): { woken: string[], settled: () => Promise<void>, abort: () => void } {
  const controller = new AbortController()
  const woken: string[] = []
  const all = requests.map(async r => {
    await waits.wait(r, HOUR, controller.signal)
    if (!controller.signal.aborted) woken.push(r.taskId)
  })
  return {
    woken,
    settled: async () => { await new Promise(resolve => setImmediate(resolve)) },
    abort: () => { controller.abort(); void Promise.all(all) }
  }
}

describe('placement waits: a peer with room wakes only the waiting tasks it can take', () => {
  it('wakes as many tasks as the freed cores hold, oldest first, and leaves the rest waiting', async () => {
    const waits = new PlacementWaits()
    const w = waiting(waits, ['a', 'b', 'c', 'd', 'e'].map(id => request(id)))
    assert.equal(waits.changed(peer([2, 1])), 3)
    await w.settled()
    assert.deepEqual(w.woken, ['a', 'b', 'c'])
    assert.equal(waits.size, 2)
    assert.equal(waits.changed(peer([0, 0])), 0, 'a full peer wakes nobody')
    assert.equal(waits.changed(peer([5, 5], { online: false })), 0, 'an offline peer wakes nobody')
    w.abort()
  })

  it('skips tasks the peer cannot take (tags, target, size) and wakes later ones that fit', async () => {
    const waits = new PlacementWaits()
    const w = waiting(waits, [
      request('gpu', { gpus: 1 }),
      request('other-tag', { tags: ['junos'] }),
      request('elsewhere', { target: { peerId: 'P2' } }),
      request('too-big', { cores: 4 }),
      request('fits', { cores: 2 }),
      request('fits-too')
    ])
    assert.equal(waits.changed(peer([3])), 2)
    await w.settled()
    assert.deepEqual(w.woken, ['fits', 'fits-too'])
    w.abort()
  })

  it('deducts from the NUMA node each task would bind to', async () => {
    const waits = new PlacementWaits()
    const w = waiting(waits, [request('n1', { numa: 1, cores: 2 }), request('n1-again', { numa: 1, cores: 2 }), request('any', { cores: 2 })])
    // node 1 holds one of the two node-1 tasks; 'any' still fits on node 0
    assert.equal(waits.changed(peer([2, 3])), 2)
    await w.settled()
    assert.deepEqual(w.woken, ['n1', 'any'])
    w.abort()
  })

  it('a task that waits again goes behind the ones still waiting', async () => {
    const waits = new PlacementWaits()
    const controller = new AbortController()
    const order: string[] = []
    const a = waits.wait(request('a'), HOUR, controller.signal).then(() => { order.push('a') })
    const b = waits.wait(request('b'), HOUR, controller.signal).then(() => { order.push('b') })
    waits.changed(peer([1]))
    await a
    const again = waits.wait(request('a'), HOUR, controller.signal).then(() => { order.push('a again') })
    waits.changed(peer([1]))
    await b
    assert.deepEqual(order, ['a', 'b'])
    controller.abort()
    await again
  })

  it('ends on its timer or its signal, and forgets the task either way', async () => {
    const waits = new PlacementWaits()
    await waits.wait(request('t'), 5, new AbortController().signal)
    assert.equal(waits.size, 0)
    const controller = new AbortController()
    const pending = waits.wait(request('s'), HOUR, controller.signal)
    assert.equal(waits.size, 1)
    controller.abort()
    await pending
    assert.equal(waits.size, 0)
    await waits.wait(request('already'), HOUR, controller.signal)
    assert.equal(waits.size, 0)
  })
})
