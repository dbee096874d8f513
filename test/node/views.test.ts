import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { peerEntries, selfEntry } from '../../src/node/views.js'
import type { PeerView } from '../../src/node/peer-table/index.js'
import type { PeerEntry } from '../../src/node/views.js'
import type { Advert, AdvertBody } from '../../src/protocols/heartbeat/index.js'

const NOW = new Date('2024-05-01T12:00:00.000Z')
const SELF = 'self-id'

function body (over: Partial<AdvertBody> = {}): AdvertBody {
  return {
    name: 'me',
    version: '0.1.0',
    addresses: ['/ip4/10.0.0.1/tcp/7420'],
    tags: ['xai'],
    cores: 8,
    memoryMB: 16384,
    numa: [{ id: 0, cores: 4, freeCores: 3, memoryMB: 8192, freeMemoryMB: 8000 }, { id: 1, cores: 4, freeCores: 1, memoryMB: 8192, freeMemoryMB: 100 }],
    gpus: [{ index: 0, name: 'A100', memoryMB: 40960 }],
    numactl: true,
    running: 2,
    ...over
  }
}

function peer (peerId: string, over: Partial<Advert> = {}, state: PeerView['state'] = 'online', lastSeen = NOW.getTime() - 3_000): PeerView {
  const advert: Advert = { v: 1, ...body({ name: `n-${peerId}` }), peerId, seq: 1, sentAt: 1, leaving: false, ...over }
  return { advert, lastSeen, state }
}

function self (over: Partial<AdvertBody> = {}): PeerEntry {
  return selfEntry(SELF, body(over), NOW)
}

describe('views', () => {
  it('selfEntry describes this node from its advert body', () => {
    assert.deepEqual(self(), {
      id: SELF,
      name: 'me',
      self: true,
      state: 'online',
      addresses: ['/ip4/10.0.0.1/tcp/7420'],
      tags: ['xai'],
      cores: 8,
      freeCores: 4,
      memoryMB: 16384,
      numa: body().numa,
      gpus: [{ index: 0, name: 'A100', memoryMB: 40960 }],
      running: 2,
      numactl: true,
      version: '0.1.0',
      lastSeen: NOW.toISOString(),
      sources: ['self']
    })
  })

  it('lists self first, then the table in its order', () => {
    const rows = peerEntries({ self: self({ name: 'zzz' }), table: [peer('a'), peer('b', {}, 'offline')], holders: [] })
    assert.deepEqual(rows.map(r => [r.id, r.self, r.state]), [[SELF, true, 'online'], ['a', false, 'online'], ['b', false, 'offline']])
  })

  it('maps a table peer to an entry with its heartbeat as source', () => {
    const [, row] = peerEntries({ self: self(), table: [peer('a', { running: 5 }, 'online', NOW.getTime() - 7_000)], holders: [] })
    assert.equal(row?.name, 'n-a')
    assert.equal(row?.freeCores, 4)
    assert.equal(row?.running, 5)
    assert.equal(row?.lastSeen, new Date(NOW.getTime() - 7_000).toISOString())
    assert.deepEqual(row?.sources, ['heartbeat'])
  })

  it('never lists self twice, even when the table holds an advert of ours', () => {
    const rows = peerEntries({ self: self(), table: [peer(SELF), peer('a')], holders: [] })
    assert.deepEqual(rows.map(r => r.id), [SELF, 'a'])
    assert.equal(rows[0]?.self, true)
  })

  it('ignores DHT holders when no tag was asked for', () => {
    const rows = peerEntries({ self: self(), table: [], holders: [{ peerId: 'x', addresses: [] }] })
    assert.deepEqual(rows.map(r => r.id), [SELF])
  })

  it('with a tag, keeps only peers (and self) that hold it', () => {
    const table = [peer('a', { tags: ['xai', 'gpu'] }), peer('b', { tags: ['junos'] }), peer('c', { tags: ['gpu'] })]
    assert.deepEqual(peerEntries({ self: self({ tags: ['xai'] }), table, holders: [], tag: 'gpu' }).map(r => r.id), ['a', 'c'])
    assert.deepEqual(peerEntries({ self: self({ tags: ['xai'] }), table, holders: [], tag: 'xai' }).map(r => r.id), [SELF, 'a'])
    assert.deepEqual(peerEntries({ self: self(), table, holders: [], tag: 'none' }), [])
  })

  it('adds a holder known only from the DHT as discovered', () => {
    const rows = peerEntries({ self: self(), table: [], holders: [{ peerId: 'd', addresses: ['/ip4/10.0.0.9/tcp/7420'] }], tag: 'gpu' })
    assert.deepEqual(rows, [{
      id: 'd',
      name: '',
      self: false,
      state: 'discovered',
      addresses: ['/ip4/10.0.0.9/tcp/7420'],
      tags: ['gpu'],
      cores: null,
      freeCores: null,
      memoryMB: null,
      numa: [],
      gpus: [],
      running: null,
      numactl: null,
      version: null,
      lastSeen: null,
      sources: ['dht']
    }])
  })

  it('merges a holder that is also in the table: sources heartbeat and dht, state from the table', () => {
    const rows = peerEntries({
      self: self(),
      table: [peer('a', { tags: ['gpu'] }, 'offline')],
      holders: [{ peerId: 'a', addresses: ['/ip4/1.2.3.4/tcp/1'] }, { peerId: 'a', addresses: [] }],
      tag: 'gpu'
    })
    assert.equal(rows.length, 1)
    assert.deepEqual(rows[0]?.sources, ['heartbeat', 'dht'])
    assert.equal(rows[0]?.state, 'offline')
    assert.equal(rows[0]?.name, 'n-a')
    assert.deepEqual(rows[0]?.addresses, body().addresses, 'the heartbeat\'s addresses win')
  })

  it('does not mark self as found in the DHT and does not change the self entry it was given', () => {
    const me = self({ tags: ['gpu'] })
    const rows = peerEntries({ self: me, table: [], holders: [{ peerId: SELF, addresses: [] }], tag: 'gpu' })
    assert.equal(rows.length, 1)
    assert.deepEqual(rows[0]?.sources, ['self'])
    assert.deepEqual(me.sources, ['self'])
  })

  it('does not list self as a discovered stranger when a stale DHT record names it', () => {
    // this node dropped the tag, but its old provider record is still in the DHT
    const rows = peerEntries({ self: self({ tags: ['xai'] }), table: [], holders: [{ peerId: SELF, addresses: [] }], tag: 'gpu' })
    assert.deepEqual(rows.filter(r => r.id === SELF && !r.self).map(r => [r.id, r.self, r.state]), [])
  })

  it('is pure: calling it twice gives the same rows', () => {
    const input = { self: self({ tags: ['gpu'] }), table: [peer('a', { tags: ['gpu'] })], holders: [{ peerId: 'a', addresses: [] }, { peerId: 'd', addresses: [] }], tag: 'gpu' }
    const first = peerEntries(input)
    const second = peerEntries(input)
    assert.deepEqual(second, first)
    assert.deepEqual(second[1]?.sources, ['heartbeat', 'dht'])
  })
})
