import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { formatId } from '../../src/cli/format/id.js'
import { formatPeers } from '../../src/cli/format/peers.js'
import { LinePrefixer } from '../../src/cli/format/prefix.js'
import { table } from '../../src/cli/format/table.js'
import { formatAgo, formatMemory, shortId } from '../../src/cli/format/units.js'
import type { NodeInfo, PeerEntry } from '../../src/node/views.js'

const NOW = new Date('2024-05-01T12:00:00.000Z')
const ID_A = '12D3KooWAaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1'
const ID_B = '12D3KooWBbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb2'
const ID_C = '12D3KooWCccccccccccccccccccccccccccccccccccccccccccc3'

function entry (over: Partial<PeerEntry> = {}): PeerEntry {
  return {
    id: ID_B,
    name: 'node-b',
    self: false,
    state: 'online',
    addresses: ['/ip4/127.0.0.1/tcp/7420', `/ip4/10.0.0.2/tcp/7420/p2p/${ID_B}`],
    tags: ['xai', 'gpu'],
    cores: 8,
    freeCores: 6,
    memoryMB: 16384,
    numa: [{ id: 0, cores: 4, freeCores: 4, memoryMB: 8192, freeMemoryMB: 8192 }, { id: 1, cores: 4, freeCores: 2, memoryMB: 8192, freeMemoryMB: 4096 }],
    gpus: [{ index: 0, name: 'A100', memoryMB: 40960 }],
    running: 1,
    numactl: true,
    version: '0.1.0',
    lastSeen: new Date(NOW.getTime() - 3_000).toISOString(),
    sources: ['heartbeat'],
    ...over
  }
}

/** Splits a table row into its cells (columns are separated by at least two spaces). */
const cells = (line: string | undefined): string[] => (line ?? '').split(/ {2,}/)

describe('cli format', () => {
  describe('units', () => {
    it('formatMemory: MiB below 1 GiB, GiB with one decimal above, - when unknown', () => {
      assert.equal(formatMemory(null), '-')
      assert.equal(formatMemory(0), '0 MiB')
      assert.equal(formatMemory(512), '512 MiB')
      assert.equal(formatMemory(1023), '1023 MiB')
      assert.equal(formatMemory(1024), '1.0 GiB')
      assert.equal(formatMemory(1536), '1.5 GiB')
      assert.equal(formatMemory(16384), '16.0 GiB')
    })

    it('formatAgo: seconds, minutes, hours, days', () => {
      const ago = (ms: number): string => formatAgo(new Date(NOW.getTime() - ms).toISOString(), NOW)
      assert.equal(formatAgo(null, NOW), '-')
      assert.equal(ago(0), '0s ago')
      assert.equal(ago(3_000), '3s ago')
      assert.equal(ago(59_000), '59s ago')
      assert.equal(ago(60_000), '1m ago')
      assert.equal(ago(5 * 60_000 + 59_000), '5m ago')
      assert.equal(ago(3_600_000), '1h ago')
      assert.equal(ago(23 * 3_600_000), '23h ago')
      assert.equal(ago(86_400_000), '1d ago')
      assert.equal(ago(4 * 86_400_000), '4d ago')
    })

    it('formatAgo: a time ahead of ours (clock skew) is "0s ago"', () => {
      assert.equal(formatAgo(new Date(NOW.getTime() + 30_000).toISOString(), NOW), '0s ago')
    })

    it('shortId keeps short ids and shortens peer ids to head…tail', () => {
      assert.equal(shortId('abc'), 'abc')
      assert.equal(shortId('x'.repeat(16)), 'x'.repeat(16))
      assert.equal(shortId(ID_A), '12D3KooW…aaaaa1')
    })
  })

  describe('table', () => {
    it('is borderless, padded by two spaces, without trailing blanks', () => {
      assert.equal(table(['A', 'LONGER'], [['xx', 'y'], ['', 'z']]), 'A   LONGER\nxx  y\n    z')
    })
  })

  describe('formatPeers', () => {
    it('says so when there are no peers', () => {
      assert.equal(formatPeers([], NOW), 'no peers known yet')
    })

    it('prints a header and one row per peer, self marked', () => {
      const out = formatPeers([entry({ id: ID_A, name: 'me', self: true, sources: ['self'] }), entry(), entry({ id: ID_C, name: 'node-c', state: 'offline' })], NOW)
      const lines = out.split('\n')
      assert.equal(lines.length, 4)
      assert.deepEqual(cells(lines[0]), ['NAME', 'ID', 'STATE', 'TAGS', 'CORES', 'MEMORY', 'NUMA free/total', 'GPUS', 'TASKS', 'LAST SEEN', 'ADDRESS'])
      assert.deepEqual(cells(lines[1]), ['me (self)', '12D3KooW…aaaaa1', 'online', 'xai,gpu', '6/8', '16.0 GiB', '0:4/4 1:2/4', '1', '1', 'now', '/ip4/10.0.0.2/tcp/7420'])
      assert.deepEqual(cells(lines[2]), ['node-b', '12D3KooW…bbbbb2', 'online', 'xai,gpu', '6/8', '16.0 GiB', '0:4/4 1:2/4', '1', '1', '3s ago', '/ip4/10.0.0.2/tcp/7420'])
      assert.equal(cells(lines[3])[2], 'offline')
      assert.equal(lines.filter(l => l.includes('(self)')).length, 1)
    })

    it('lines columns up under their headers', () => {
      const lines = formatPeers([entry({ self: true, name: 'me' }), entry({ name: 'a-much-longer-name' })], NOW).split('\n')
      const col = (lines[0] ?? '').indexOf('STATE')
      for (const line of lines.slice(1)) assert.equal(line.indexOf('online'), col, line)
    })

    it('shows a peer known only from the DHT with dashes', () => {
      const out = formatPeers([entry({
        name: '', state: 'discovered', addresses: [], tags: ['gpu'], cores: null, freeCores: null, memoryMB: null,
        numa: [], gpus: [], running: null, numactl: null, version: null, lastSeen: null, sources: ['dht']
      })], NOW)
      assert.deepEqual(cells(out.split('\n')[1]), ['?', '12D3KooW…bbbbb2', 'discovered', 'gpu', '-', '-', '-', '-', '-', '-', '-'])
    })

    it('shows loopback only when the peer has no other address, without /p2p', () => {
      const address = (addresses: string[]): string | undefined => cells(formatPeers([entry({ addresses })], NOW).split('\n')[1]).at(-1)
      assert.equal(address([`/ip4/127.0.0.1/tcp/7420/p2p/${ID_B}`]), '/ip4/127.0.0.1/tcp/7420')
      assert.equal(address(['/ip6/::1/tcp/7420', '/ip4/192.168.1.5/tcp/7420']), '/ip4/192.168.1.5/tcp/7420')
      assert.equal(address([]), '-')
    })

    it('keeps a peer with no tags on one row', () => {
      const out = formatPeers([entry({ tags: [] })], NOW)
      assert.equal(cells(out.split('\n')[1])[3], '-')
    })

    it('a remote peer\'s name cannot add lines or terminal escapes to the table', () => {
      // names and tags come from other nodes' heartbeats; the advert schema only bounds their length
      const out = formatPeers([entry({ name: 'evil\nfake-row  online' }), entry({ name: 'red\u001b[31m', tags: ['x\u001b]0;title\u0007'] })], NOW)
      assert.equal(out.split('\n').length, 3)
      assert.ok(!out.includes('\u001b'), JSON.stringify(out))
    })
  })

  describe('formatId', () => {
    const info: NodeInfo = {
      ...entry({ id: ID_A, name: 'me', self: true, sources: ['self'], addresses: ['/ip4/10.0.0.1/tcp/7420', '/ip4/127.0.0.1/tcp/7420'] }),
      home: '/srv/mesh',
      pid: 4242,
      startedAt: NOW.toISOString(),
      swarmKey: true,
      trust: 'open',
      executors: { using: 'process', unavailable: [{ name: 'systemd', reason: 'not the init system' }] },
      certificate: null,
      revocationVersion: 0,
      connections: 3,
      knownPeers: 5,
      onlinePeers: 4
    }
    const field = (out: string, name: string): string | undefined =>
      out.split('\n').find(l => l.startsWith(name.padEnd(10) + ' '))?.slice(11)

    it('prints one labelled line per field', () => {
      const out = formatId(info)
      assert.equal(field(out, 'peer id'), ID_A)
      assert.equal(field(out, 'name'), 'me')
      assert.equal(field(out, 'tags'), 'xai, gpu')
      assert.equal(field(out, 'cores'), '8 (6 free)')
      assert.equal(field(out, 'memory'), '16.0 GiB')
      assert.equal(field(out, 'numa'), '0: 4/4 cores free, 8.0 GiB; 1: 2/4 cores free, 8.0 GiB')
      assert.equal(field(out, 'gpus'), '0: A100 40.0 GiB')
      assert.equal(field(out, 'numactl'), 'yes')
      assert.equal(field(out, 'swarm key'), 'yes')
      assert.equal(field(out, 'peers'), '4 online, 5 known, 3 connections')
      assert.equal(field(out, 'home'), '/srv/mesh')
      assert.equal(field(out, 'pid'), '4242')
      // the second address is indented under the first
      assert.ok(out.includes('addresses  /ip4/10.0.0.1/tcp/7420\n           /ip4/127.0.0.1/tcp/7420'), out)
    })

    it('explains what is missing', () => {
      const out = formatId({ ...info, tags: [], addresses: [], gpus: [], numa: [], numactl: false, swarmKey: false })
      assert.equal(field(out, 'tags'), '-')
      assert.equal(field(out, 'addresses'), '-')
      assert.equal(field(out, 'gpus'), 'none')
      assert.equal(field(out, 'numa'), '-')
      assert.match(field(out, 'numactl') ?? '', /^not installed/)
      assert.match(field(out, 'swarm key') ?? '', /^none/)
    })
  })
})

describe('cli format: a task record with earlier attempts', () => {
  it('lists each earlier attempt with its state, runner and error', async () => {
    const { formatRecord } = await import('../../src/cli/format/records.js')
    const base = {
      id: 't1', name: 'job', exitCode: 0, numaNode: 0, dispatcher: 'D', group: 't1', tags: [], submittedAt: '2026-11-22T08:00:00.000Z',
      startedAt: null, finishedAt: null, stdout: '', stderr: '', updatedAt: 1
    }
    const current = { ...base, state: 'succeeded' as const, attempt: 2, runner: 'R2', runnerName: 'lab2', error: null }
    const lost = { ...base, state: 'lost' as const, exitCode: null, attempt: 1, runner: 'R1', runnerName: 'lab1', error: 'runner lab1 stopped answering while the task ran' }
    const text = formatRecord({ ...current, attempts: [current, lost] } as Parameters<typeof formatRecord>[0])
    assert.match(text, /^attempt 1 +lost on lab1: runner lab1 stopped answering while the task ran$/m)
    assert.doesNotMatch(text, /^attempt 2 /m)
  })
})

describe('LinePrefixer (--all output)', () => {
  it('prefixes whole lines per task and stream, holding a partial line until its newline or the end', () => {
    const p = new LinePrefixer()
    assert.equal(p.push('t1/stdout', 'lab2', Buffer.from('one\ntw')).toString(), 'lab2: one\n')
    assert.equal(p.push('t2/stdout', 'lab3', Buffer.from('x\n')).toString(), 'lab3: x\n')
    assert.equal(p.push('t1/stdout', 'lab2', Buffer.from('o\nthree\nfo')).toString(), 'lab2: two\nlab2: three\n')
    assert.equal(p.push('t1/stdout', 'lab2', Buffer.from('ur')).byteLength, 0)
    assert.equal(p.flush('t1/stdout', 'lab2').toString(), 'lab2: four\n')
    assert.equal(p.flush('t1/stdout', 'lab2').byteLength, 0, 'flushed once')
    assert.equal(p.flush('t2/stdout', 'lab3').byteLength, 0, 'nothing left')
    assert.equal(p.push('t3/stderr', 'lab4', Buffer.from('\n\n')).toString(), 'lab4: \nlab4: \n', 'empty lines keep their prefix')
  })

  it('keeps a UTF-8 character whose bytes straddle two chunks whole, and passes any bytes through', () => {
    const p = new LinePrefixer()
    const text = Buffer.from('aü✓b\n')
    const out = Buffer.concat([p.push('k', 'n', text.subarray(0, 2)), p.push('k', 'n', text.subarray(2, 5)), p.push('k', 'n', text.subarray(5))])
    assert.deepEqual(out, Buffer.concat([Buffer.from('n: '), text]))
    const binary = Buffer.from([0xff, 0xfe, 0x00, 0x0a])
    assert.deepEqual(p.push('b', 'n', binary), Buffer.concat([Buffer.from('n: '), binary]))
  })
})
