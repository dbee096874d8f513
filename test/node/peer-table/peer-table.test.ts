import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { pino } from 'pino'
import { silentLogger } from '../../../src/node/logger.js'
import { isNewer, peerState, peerTable, shouldDrop } from '../../../src/node/peer-table/index.js'
import type { Logger } from '../../../src/node/logger.js'
import type { PeerRecord, PeerStore, PeerTableApi, PeerTableInit } from '../../../src/node/peer-table/index.js'
import type { Advert } from '../../../src/protocols/heartbeat/index.js'

const T0 = 1_700_000_000_000
const OFFLINE_MS = 10_000
const DROP_MS = 60_000

/** A level sublevel in a Map: same slice of the API, values are what the table wrote. */
class MapStore implements PeerStore {
  readonly map = new Map<string, string>()
  failPuts = false

  async put (key: string, value: string): Promise<void> {
    if (this.failPuts) throw new Error('disk full')
    this.map.set(key, value)
  }

  async del (key: string): Promise<void> {
    this.map.delete(key)
  }

  async * iterator (): AsyncIterable<[string, string]> {
    // sorted, as level iterates
    for (const entry of [...this.map].sort(([a], [b]) => a.localeCompare(b))) yield entry
  }
}

function advert (peerId: string, seq: number, over: Partial<Advert> = {}): Advert {
  return {
    v: 1,
    peerId,
    seq,
    sentAt: seq,
    name: `name-${peerId}`,
    version: '0.1.0',
    addresses: ['/ip4/10.0.0.2/tcp/7420'],
    tags: ['xai'],
    cores: 4,
    memoryMB: 4096,
    numa: [{ id: 0, cores: 4, freeCores: 4, memoryMB: 4096, freeMemoryMB: 4096 }],
    gpus: [],
    numactl: false,
    running: 0,
    leaving: false,
    ...over
  }
}

interface Harness {
  table: PeerTableApi
  store: MapStore
  clock: { now: number }
}

function harness (store = new MapStore(), clock = { now: T0 }, log: Logger = silentLogger(), init: Partial<PeerTableInit> = {}): Harness {
  const table = peerTable({ offlineAfterMs: OFFLINE_MS, dropAfterMs: DROP_MS, flushIntervalMs: 3_600_000, now: () => clock.now, ...init })({ store, log })
  return { table, store, clock }
}

/** flush() is on the class, not on PeerTableApi: stop() is the public way to write everything. */
async function flush (table: PeerTableApi): Promise<void> {
  await (table as PeerTableApi & { flush: () => Promise<void> }).flush()
}

describe('peer table', () => {
  describe('pure rules', () => {
    const f = { offlineAfterMs: OFFLINE_MS, dropAfterMs: DROP_MS }
    const rec = (over: Partial<Advert> = {}): PeerRecord => ({ advert: advert('a', 5, over), lastSeen: T0 })

    it('isNewer: only a strictly higher seq replaces', () => {
      assert.equal(isNewer(undefined, advert('a', 1)), true)
      assert.equal(isNewer(rec(), advert('a', 6)), true)
      assert.equal(isNewer(rec(), advert('a', 5)), false)
      assert.equal(isNewer(rec(), advert('a', 4)), false)
    })

    it('peerState: online until offlineAfterMs, offline at once when leaving', () => {
      assert.equal(peerState(rec(), T0, f), 'online')
      assert.equal(peerState(rec(), T0 + OFFLINE_MS - 1, f), 'online')
      assert.equal(peerState(rec(), T0 + OFFLINE_MS, f), 'offline')
      assert.equal(peerState(rec({ leaving: true }), T0, f), 'offline')
    })

    it('shouldDrop: at dropAfterMs of silence', () => {
      assert.equal(shouldDrop(rec(), T0 + DROP_MS - 1, f), false)
      assert.equal(shouldDrop(rec(), T0 + DROP_MS, f), true)
    })
  })

  it('keeps the newest advert per peer by seq', async () => {
    const { table } = harness()
    assert.equal(table.observe(advert('a', 10, { running: 1 })), true)
    assert.equal(table.observe(advert('a', 11, { running: 2 })), true)
    assert.equal(table.observe(advert('a', 9, { running: 3 })), false, 'older')
    assert.equal(table.observe(advert('a', 11, { running: 4 })), false, 'same seq: a duplicate, not newer')
    assert.equal(table.get('a')?.advert.running, 2)
    assert.equal(table.get('a')?.advert.seq, 11)
    assert.equal(table.get('nobody'), undefined)
  })

  it('an older advert does not refresh lastSeen', () => {
    const { table, clock } = harness()
    table.observe(advert('a', 10))
    clock.now = T0 + OFFLINE_MS
    table.observe(advert('a', 9))
    assert.equal(table.get('a')?.lastSeen, T0)
    assert.equal(table.get('a')?.state, 'offline')
  })

  it('goes offline after offlineAfterMs of silence and online again with a newer advert', () => {
    const { table, clock } = harness()
    table.observe(advert('a', 1))
    assert.equal(table.get('a')?.state, 'online')
    assert.equal(table.get('a')?.lastSeen, T0)
    clock.now = T0 + OFFLINE_MS - 1
    assert.equal(table.get('a')?.state, 'online')
    clock.now = T0 + OFFLINE_MS
    assert.equal(table.get('a')?.state, 'offline')
    assert.equal(table.list()[0]?.state, 'offline')
    table.observe(advert('a', 2))
    assert.equal(table.get('a')?.state, 'online')
    assert.equal(table.get('a')?.lastSeen, T0 + OFFLINE_MS)
  })

  it('shows a peer the failure detector declared dead offline until a newer advert', () => {
    const { table } = harness()
    assert.equal(table.markDown('a'), false, 'an unknown peer cannot be marked')
    table.observe(advert('a', 1))
    table.observe(advert('b', 1))
    assert.equal(table.markDown('a'), true)
    assert.equal(table.get('a')?.state, 'offline')
    assert.deepEqual(table.list().map(p => [p.advert.peerId, p.state]), [['a', 'offline'], ['b', 'online']])
    assert.equal(table.observe(advert('a', 1)), false)
    assert.equal(table.get('a')?.state, 'offline', 'a stale copy does not bring it back')
    table.observe(advert('a', 2))
    assert.equal(table.get('a')?.state, 'online')
  })

  it('does not persist a down mark: a restarted table knows the peer, offline until heard', async () => {
    const { table, store } = harness()
    await table.start()
    table.observe(advert('a', 1))
    table.markDown('a')
    await table.stop()
    assert.equal((JSON.parse(store.map.get('a') ?? '{}') as PeerRecord).advert.seq, 1)
    const again = harness(store).table
    await again.start()
    assert.equal(again.get('a')?.state, 'offline')
    again.observe(advert('a', 2))
    assert.equal(again.get('a')?.state, 'online')
    await again.stop()
  })

  it('marks a leaving peer offline at once', () => {
    const { table } = harness()
    table.observe(advert('a', 1))
    table.observe(advert('a', 2, { leaving: true }))
    assert.equal(table.get('a')?.state, 'offline')
    table.observe(advert('a', 3))
    assert.equal(table.get('a')?.state, 'online', 'a restarted peer is back')
  })

  it('lists peers by name, then id', () => {
    const { table } = harness()
    table.observe(advert('p2', 1, { name: 'beta' }))
    table.observe(advert('p3', 1, { name: 'alpha' }))
    table.observe(advert('p1', 1, { name: 'beta' }))
    assert.deepEqual(table.list().map(p => p.advert.peerId), ['p3', 'p1', 'p2'])
  })

  it('drops a peer silent for dropAfterMs at the next flush, from memory and from the store', async () => {
    const { table, store, clock } = harness()
    await table.start()
    table.observe(advert('a', 1))
    table.observe(advert('b', 1))
    await flush(table)
    assert.deepEqual([...store.map.keys()].sort(), ['a', 'b'])
    clock.now = T0 + DROP_MS - 1
    table.observe(advert('b', 2))
    await flush(table)
    assert.ok(table.get('a') != null, 'not yet')
    clock.now = T0 + DROP_MS
    assert.ok(table.get('a') != null, 'dropping happens at flush, not on read')
    await flush(table)
    assert.equal(table.get('a'), undefined)
    assert.deepEqual(table.list().map(p => p.advert.peerId), ['b'])
    assert.deepEqual([...store.map.keys()], ['b'])
    await table.stop()
  })

  it('persists: a new table on the same store loads what the old one flushed', async () => {
    const store = new MapStore()
    const first = harness(store)
    await first.table.start()
    first.table.observe(advert('a', 7, { tags: ['xai', 'gpu'] }))
    first.table.observe(advert('b', 3))
    await first.table.stop()

    const second = harness(store, { now: T0 + 2 * OFFLINE_MS })
    await second.table.start()
    assert.equal(second.table.corrupt, 0)
    assert.deepEqual(second.table.list().map(p => [p.advert.peerId, p.advert.seq, p.lastSeen, p.state]), [
      ['a', 7, T0, 'offline'],
      ['b', 3, T0, 'offline']
    ])
    assert.deepEqual(second.table.get('a')?.advert.tags, ['xai', 'gpu'])
    assert.equal(second.table.observe(advert('a', 7)), false, 'a replay of the stored advert is not newer')
    assert.equal(second.table.observe(advert('a', 8)), true)
    await second.table.stop()
  })

  it('loaded peers stay offline until a fresh heartbeat arrives, even after a quick restart', async () => {
    // documented in src/node/peer-table/index.ts; currently a peer heard 1 s before a restart is 'online'
    const store = new MapStore()
    const first = harness(store)
    await first.table.start()
    first.table.observe(advert('a', 1))
    await first.table.stop()
    const second = harness(store, { now: T0 + 1_000 })
    await second.table.start()
    assert.equal(second.table.get('a')?.state, 'offline')
    await second.table.stop()
  })

  it('counts corrupt stored records, keeps them on disk and still loads the rest', async () => {
    const store = new MapStore()
    const good = (id: string): string => JSON.stringify({ advert: advert(id, 1), lastSeen: T0 })
    store.map.set('a-good', good('a-good'))
    store.map.set('b-not-json', '{ nope')
    store.map.set('c-schema', JSON.stringify({ advert: { ...advert('c-schema', 1), cores: -4 }, lastSeen: T0 }))
    store.map.set('d-wrong-key', good('somebody-else'))
    store.map.set('e-no-lastseen', JSON.stringify({ advert: advert('e-no-lastseen', 1) }))
    store.map.set('f-null', 'null')
    store.map.set('g-good', good('g-good'))
    const before = new Map(store.map)
    const lines: string[] = []
    const log = pino({ level: 'warn' }, { write: (s: string) => { lines.push(s) } })
    const { table } = harness(store, undefined, log)
    await table.start()
    assert.equal(table.corrupt, 5)
    assert.deepEqual(table.list().map(p => p.advert.peerId), ['a-good', 'g-good'])
    assert.equal(table.get('d-wrong-key'), undefined)
    assert.equal(table.get('somebody-else'), undefined)
    const warned = lines.map(l => (JSON.parse(l) as { peer?: string }).peer)
    assert.deepEqual(warned, ['b-not-json', 'c-schema', 'd-wrong-key', 'e-no-lastseen', 'f-null'])
    await table.stop()
    assert.deepEqual(store.map, before, 'corrupt records are kept on disk; nothing was rewritten')
  })

  it('stop() flushes what was observed since the last flush', async () => {
    const { table, store } = harness()
    await table.start()
    table.observe(advert('a', 1))
    assert.equal(store.map.size, 0, 'heartbeats are not written one by one')
    await table.stop()
    const stored = JSON.parse(store.map.get('a') ?? 'null') as PeerRecord
    assert.deepEqual(stored, { advert: advert('a', 1), lastSeen: T0 })
  })

  it('writes only changed records at a flush', async () => {
    const { table, store } = harness()
    await table.start()
    table.observe(advert('a', 1))
    table.observe(advert('b', 1))
    await flush(table)
    const puts: string[] = []
    const put = store.put.bind(store)
    store.put = async (k, v) => { puts.push(k); await put(k, v) }
    table.observe(advert('b', 2))
    await flush(table)
    assert.deepEqual(puts, ['b'])
    await table.stop()
  })

  it('retries a failed write at the next flush', async () => {
    const { table, store } = harness()
    await table.start()
    table.observe(advert('a', 1))
    store.failPuts = true
    await flush(table)
    assert.equal(store.map.size, 0)
    store.failPuts = false
    await table.stop()
    assert.ok(store.map.has('a'))
  })

  it('start and stop are idempotent', async () => {
    const { table, store } = harness()
    await table.stop()
    await table.start()
    await table.start()
    table.observe(advert('a', 1))
    await table.stop()
    await table.stop()
    assert.ok(store.map.has('a'))
  })
})

describe('peer table: bounded', () => {
  it('past maxPeers forgets the peer heard from least recently, in memory and on disk', async () => {
    const store = new MapStore()
    const clock = { now: T0 }
    const { table } = harness(store, clock, silentLogger(), { maxPeers: 3 })
    await table.start()
    for (const id of ['a', 'b', 'c']) { clock.now += 1000; table.observe(advert(id, 1)) }
    await flush(table)
    clock.now += 1000
    table.observe(advert('b', 2))
    clock.now += 1000
    table.observe(advert('d', 1))
    await flush(table)
    assert.deepEqual(table.list().map(p => p.advert.peerId).sort(), ['b', 'c', 'd'])
    assert.deepEqual([...store.map.keys()].sort(), ['b', 'c', 'd'])
    await table.stop()
  })
})
