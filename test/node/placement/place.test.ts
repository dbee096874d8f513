import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { formatExclusions, place, tieBreak } from '../../../src/node/placement/index.js'
import type { Candidate, PlacementRequest, PlacementResult } from '../../../src/node/placement/index.js'

/** A two-NUMA-node peer with 8 cores and 16 GB per node, all free, unless told otherwise. */
function peer (name: string, over: Partial<Candidate> = {}): Candidate {
  return {
    peerId: `id-${name}`,
    name,
    online: true,
    tags: [],
    numa: [
      { id: 0, cores: 8, freeCores: 8, memoryMB: 16384, freeMemoryMB: 16384 },
      { id: 1, cores: 8, freeCores: 8, memoryMB: 16384, freeMemoryMB: 16384 }
    ],
    gpus: 0,
    freeGpus: 0,
    running: 0,
    numactl: true,
    ...over
  }
}

function nodes (...free: Array<[number, number]>): Candidate['numa'] {
  return free.map(([freeCores, freeMemoryMB], id) => ({ id, cores: 8, freeCores, memoryMB: 16384, freeMemoryMB }))
}

function request (over: Partial<PlacementRequest> = {}): PlacementRequest {
  return { taskId: 'task-1', tags: [], cores: 1, memoryMB: 0, gpus: 0, numa: 'any', ...over }
}

function chosen (result: PlacementResult): string[] {
  assert.ok(result.ok, formatExclusions(result.excluded))
  return result.choices.map(c => c.peerId)
}

function reasons (result: PlacementResult): Record<string, string> {
  return Object.fromEntries(result.excluded.map(e => [e.name, e.reason]))
}

describe('place: tags', () => {
  it('requires every tag of the task (all-of)', () => {
    const peers = [peer('a', { tags: ['xai'] }), peer('b', { tags: ['xai', 'junos', 'gpu'] }), peer('c', { tags: ['junos'] }), peer('d')]
    const result = place(request({ tags: ['xai', 'junos'] }), peers)
    assert.deepEqual(chosen(result), ['id-b'])
    assert.deepEqual(reasons(result), { a: 'missing tag junos', c: 'missing tag xai', d: 'missing tags junos, xai' })
  })

  it('takes every peer when the task has no tags, and matches tags exactly', () => {
    assert.equal(chosen(place(request(), [peer('a', { tags: ['x'] }), peer('b')])).length, 2)
    assert.deepEqual(reasons(place(request({ tags: ['GPU'] }), [peer('a', { tags: ['gpu'] })])), { a: 'missing tag GPU' })
  })
})

describe('place: capacity', () => {
  it('checks free GPUs', () => {
    const peers = [peer('a', { gpus: 4, freeGpus: 1 }), peer('b', { gpus: 2, freeGpus: 2 }), peer('c')]
    const result = place(request({ gpus: 2 }), peers)
    assert.deepEqual(chosen(result), ['id-b'])
    assert.deepEqual(reasons(result), { a: 'needs 2 GPUs, has 1 free (of 4)', c: 'needs 2 GPUs, has 0 free (of 0)' })
  })

  it('counts cores and memory against a single NUMA node', () => {
    const peers = [peer('a', { numa: nodes([3, 16384], [3, 16384]) }), peer('b', { numa: nodes([8, 1000], [2, 16384]) }), peer('c', { numa: nodes([4, 4096]) })]
    const result = place(request({ cores: 4, memoryMB: 2048 }), peers)
    assert.deepEqual(chosen(result), ['id-c'])
    assert.deepEqual(reasons(result), {
      a: 'no NUMA node has 4 free cores (0: 3, 1: 3)',
      b: 'no NUMA node has 4 free cores and 2048 MB free memory (0: 8 cores 1000 MB, 1: 2 cores 16384 MB)'
    })
  })

  it('excludes a peer that advertises no NUMA nodes unless numa is "none" (and then it must have room)', () => {
    const bare = peer('bare', { numa: [] })
    assert.deepEqual(reasons(place(request(), [bare])), { bare: 'advertises no NUMA nodes' })
    assert.deepEqual(reasons(place(request({ numa: 'none' }), [bare])), { bare: 'needs 1 core, has 0 free' })
  })
})

describe('place: NUMA choice', () => {
  it('"any" picks the node with most free cores that fits, lowest id on ties', () => {
    const r1 = place(request({ cores: 2 }), [peer('a', { numa: nodes([3, 100], [6, 100], [6, 100]) })])
    assert.ok(r1.ok)
    assert.deepEqual(r1.choices, [{ peerId: 'id-a', numaNode: 1, score: 4 }])
    // the roomiest node lacks memory: the next one that fits
    const r2 = place(request({ cores: 2, memoryMB: 500 }), [peer('a', { numa: nodes([3, 1000], [6, 100]) })])
    assert.ok(r2.ok)
    assert.deepEqual(r2.choices, [{ peerId: 'id-a', numaNode: 0, score: 1 }])
  })

  it('a fixed node must exist, fit and be bindable', () => {
    const peers = [
      peer('fits', { numa: nodes([1, 100], [4, 100]) }),
      peer('small', { numa: nodes([8, 8000], [2, 8000]) }),
      peer('nomem', { numa: nodes([8, 8000], [8, 10]) }),
      peer('one-node', { numa: nodes([8, 8000]) }),
      peer('no-numactl', { numactl: false })
    ]
    const result = place(request({ cores: 4, memoryMB: 50, numa: 1 }), peers)
    assert.ok(result.ok)
    assert.deepEqual(result.choices, [{ peerId: 'id-fits', numaNode: 1, score: 0 }])
    assert.deepEqual(reasons(result), {
      small: 'needs 4 cores, NUMA node 1 has 2 free',
      nomem: 'needs 50 MB memory, NUMA node 1 has 10 MB free',
      'one-node': 'has no NUMA node 1 (nodes: 0)',
      'no-numactl': 'cannot bind to NUMA node 1 (no numactl)'
    })
  })

  it('node 0 of a single-node machine needs no numactl', () => {
    const result = place(request({ numa: 0 }), [peer('a', { numactl: false, numa: nodes([8, 100]) })])
    assert.ok(result.ok)
    assert.equal(result.choices[0]?.numaNode, 0)
  })

  it('"none" counts totals across nodes and returns no node', () => {
    const peers = [peer('split', { numa: nodes([3, 1000], [3, 1000]) }), peer('tight', { numa: nodes([2, 1000], [3, 1000]) }), peer('nomem', { numa: nodes([8, 500], [8, 500]) })]
    const result = place(request({ cores: 6, memoryMB: 1500, numa: 'none' }), peers)
    assert.ok(result.ok)
    assert.deepEqual(result.choices, [{ peerId: 'id-split', numaNode: null, score: 0 }])
    assert.deepEqual(reasons(result), { tight: 'needs 6 cores, has 5 free', nomem: 'needs 1500 MB memory, has 1000 MB free' })
    // the same request bound to a node fits nowhere
    assert.equal(place(request({ cores: 6, memoryMB: 1500 }), peers).ok, false)
  })

  it('a target pins the peer, still checks capacity, and its NUMA node overrides the task', () => {
    const peers = [peer('a', { numa: nodes([8, 100], [2, 100]) }), peer('b')]
    const r1 = place(request({ cores: 2, target: { peerId: 'id-a' } }), peers)
    assert.ok(r1.ok)
    assert.deepEqual(r1.choices, [{ peerId: 'id-a', numaNode: 0, score: 6 }])
    assert.deepEqual(reasons(r1), { b: 'not the target' })
    const r2 = place(request({ cores: 2, numa: 'none', target: { peerId: 'id-a', numa: 1 } }), peers)
    assert.ok(r2.ok)
    assert.deepEqual(r2.choices, [{ peerId: 'id-a', numaNode: 1, score: 0 }])
    const r3 = place(request({ cores: 3, target: { peerId: 'id-a', numa: 1 } }), peers)
    assert.deepEqual(reasons(r3), { a: 'needs 3 cores, NUMA node 1 has 2 free', b: 'not the target' })
  })

  it('an unknown target says so', () => {
    const result = place(request({ target: { peerId: 'id-zz' } }), [peer('a')])
    assert.equal(result.ok, false)
    assert.deepEqual(result.excluded, [
      { peerId: 'id-a', name: 'a', reason: 'not the target' },
      { peerId: 'id-zz', name: 'id-zz', reason: 'target not known to this node' }
    ])
  })
})

describe('place: exclusion reasons, one per filter, first failing filter wins', () => {
  it('reports online → target → tags → gpus → NUMA → already tried', () => {
    const req = request({ tags: ['xai'], gpus: 1, cores: 4, exclude: ['id-tried'], target: undefined })
    const full = { tags: ['xai'], gpus: 1, freeGpus: 1 }
    const peers = [
      peer('off', { ...full, online: false, tags: [] }), // offline beats missing tag
      peer('untagged', { gpus: 0 }), // missing tag beats no GPU
      peer('nogpu', { tags: ['xai'] }),
      peer('full', { ...full, numa: nodes([1, 100], [2, 100]) }),
      peer('tried', full),
      peer('ok', full)
    ]
    const result = place(req, peers)
    assert.deepEqual(chosen(result), ['id-ok'])
    assert.deepEqual(result.excluded, [
      { peerId: 'id-off', name: 'off', reason: 'offline' },
      { peerId: 'id-untagged', name: 'untagged', reason: 'missing tag xai' },
      { peerId: 'id-nogpu', name: 'nogpu', reason: 'needs 1 GPU, has 0 free (of 0)' },
      { peerId: 'id-full', name: 'full', reason: 'no NUMA node has 4 free cores (0: 1, 1: 2)' },
      { peerId: 'id-tried', name: 'tried', reason: 'already tried' }
    ])
  })

  it('an offline target is offline, not "not the target"', () => {
    const result = place(request({ target: { peerId: 'id-a' } }), [peer('a', { online: false }), peer('b', { online: false })])
    assert.deepEqual(reasons(result), { a: 'offline', b: 'offline' })
  })

  it('no peer at all: ok false and nothing excluded', () => {
    const result = place(request(), [])
    assert.deepEqual(result, { ok: false, excluded: [] })
    assert.equal(formatExclusions(result.excluded), 'no peer can take the task: no peers known')
  })

  it('formats exclusions for the CLI on one line', () => {
    const result = place(request({ tags: ['junos'] }), [peer('peerA'), peer('peerB', { online: false })])
    assert.equal(result.ok, false)
    assert.equal(formatExclusions(result.excluded), 'no peer can take the task: peerA: missing tag junos; peerB: offline')
  })

  it('retries skip every peer already tried, and fail once all are', () => {
    const peers = [peer('a'), peer('b'), peer('c')]
    assert.deepEqual(chosen(place(request({ exclude: ['id-a', 'id-c'] }), peers)), ['id-b'])
    const result = place(request({ exclude: ['id-a', 'id-b', 'id-c'] }), peers)
    assert.equal(result.ok, false)
    assert.deepEqual(Object.values(reasons(result)), ['already tried', 'already tried', 'already tried'])
  })
})

describe('place: ranking', () => {
  it('prefers most free cores left on the chosen node, then fewer running tasks', () => {
    const peers = [
      peer('busy', { numa: nodes([8, 100]), running: 5 }),
      peer('small', { numa: nodes([3, 100], [2, 100]) }),
      peer('idle', { numa: nodes([8, 100]), running: 1 }),
      peer('big', { numa: nodes([4, 100], [16, 100]), running: 9 })
    ]
    const result = place(request({ cores: 2 }), peers)
    assert.ok(result.ok)
    assert.deepEqual(result.choices, [
      { peerId: 'id-big', numaNode: 1, score: 14 },
      { peerId: 'id-idle', numaNode: 0, score: 6 },
      { peerId: 'id-busy', numaNode: 0, score: 6 },
      { peerId: 'id-small', numaNode: 0, score: 1 }
    ])
  })

  it('breaks ties reproducibly by taskId, whatever the order of the peers', () => {
    const peers = ['a', 'b', 'c', 'd', 'e'].map(n => peer(n))
    const first = chosen(place(request({ taskId: 'T-42' }), peers))
    for (let i = 0; i < 5; i++) {
      const shuffled = [...peers.slice(i), ...peers.slice(0, i)].reverse()
      assert.deepEqual(chosen(place(request({ taskId: 'T-42' }), shuffled)), first)
    }
    const sorted = [...first].sort((x, y) => tieBreak('T-42', x) - tieBreak('T-42', y))
    assert.deepEqual(first, sorted)
  })

  it('spreads different tasks across equal peers', () => {
    const peers = ['a', 'b', 'c', 'd'].map(n => peer(n))
    const wins = new Map<string, number>()
    for (let i = 0; i < 400; i++) {
      const best = chosen(place(request({ taskId: `task-${i}` }), peers))[0] ?? ''
      wins.set(best, (wins.get(best) ?? 0) + 1)
    }
    assert.equal(wins.size, 4)
    for (const [id, n] of wins) assert.ok(n > 60 && n < 140, `${id} won ${n} of 400`)
  })

  it('is pure: the same input gives the same output and the input is untouched', () => {
    const peers = [peer('a', { numa: nodes([8, 100], [3, 100]) }), peer('b')]
    const snapshot = JSON.stringify(peers)
    const req = request({ cores: 3, exclude: ['x'] })
    assert.deepEqual(place(req, peers), place(req, peers))
    assert.equal(JSON.stringify(peers), snapshot)
  })
})
