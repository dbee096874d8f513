/**
 * Issue 2 end to end: real `mesh start` processes on loopback find each other, advertise tags and
 * capacity, keep their identity across restarts, keep strangers out, and go offline when stopped.
 */
import assert from 'node:assert/strict'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { Cluster, FAST_CONFIG, FIXTURES, cli, waitFor } from '../helpers/daemons.js'
import type { TestDaemon } from '../helpers/daemons.js'
import { DAEMON_NODE_FLAGS } from '../../src/cli/node-flags.js'
import type { NodeInfo, PeerEntry } from '../../src/node/views.js'

function row (list: PeerEntry[], id: string): PeerEntry {
  const p = list.find(x => x.id === id)
  assert.ok(p, `${id} missing from ${JSON.stringify(list.map(x => x.id))}`)
  return p
}

describe('a mesh of three daemons', () => {
  const cluster = new Cluster()
  let a: TestDaemon, b: TestDaemon, c: TestDaemon
  let swarmKey: string

  before(async () => {
    const dir = await cluster.home()
    swarmKey = join(dir, 'swarm.key')
    const r = await cli(['swarm-key', '--out', swarmKey])
    assert.equal(r.code, 0, r.stderr)
    a = await cluster.start({ tags: ['xai,junos'], swarmKey, config: FAST_CONFIG })
    b = await cluster.start({
      tags: ['regression'],
      swarmKey,
      bootstrap: [a.addr],
      config: FAST_CONFIG,
      // pretend to be a two-NUMA-node machine
      env: { MESH_SYSFS_ROOT: join(FIXTURES, 'sysfs', 'two-node') }
    })
    c = await cluster.start({ swarmKey, bootstrap: [a.addr], config: FAST_CONFIG })
  })

  after(async () => { await cluster.stopAll() })

  it('every daemon lists the other two with their tags', async () => {
    for (const d of [a, b, c]) {
      const peers = await waitFor(`peers of ${d.id}`, async () => {
        const list = await d.peers()
        return list.filter(p => p.state === 'online').length === 3 ? list : undefined
      })
      assert.deepEqual(row(peers, a.id).tags, ['junos', 'xai'])
      assert.deepEqual(row(peers, b.id).tags, ['regression'])
      assert.deepEqual(row(peers, c.id).tags, [])
      assert.deepEqual(peers.filter(p => p.self).map(p => p.id), [d.id])
    }
  })

  it('advertises capacity, including the NUMA layout read from sysfs', async () => {
    const peers = await a.peers()
    const pb = row(peers, b.id)
    assert.equal(pb.cores, 8)
    assert.equal(pb.numa.length, 2)
    assert.deepEqual(pb.numa.map(n => [n.id, n.cores, n.freeCores]), [[0, 4, 4], [1, 4, 4]])
    assert.ok((pb.memoryMB ?? 0) > 0)
    assert.equal(pb.running, 0)
    assert.ok(Array.isArray(pb.gpus))
    assert.ok(pb.addresses.some((x: string) => x.startsWith('/ip4/127.0.0.1/tcp/')))
    assert.ok(Date.parse(pb.lastSeen ?? '') > Date.now() - 60_000)
  })

  it('finds tag holders through the DHT with peers --tag', async () => {
    const holders = await waitFor('xai holders from c', async () => {
      const list = await c.peers(['--tag', 'xai'])
      return list.some(p => p.id === a.id) ? list : undefined
    })
    assert.deepEqual(holders.map(p => p.id), [a.id])
    const none = await c.peers(['--tag', 'nobody-has-this'])
    assert.deepEqual(none, [])
  })

  it('prints a readable table without --json', async () => {
    const r = await a.cli(['peers'])
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /^NAME\s+ID\s+STATE\s+TAGS/m)
    assert.match(r.stdout, /junos,xai/)
    assert.match(r.stdout, /0:4\/4 1:4\/4/)
  })

  it('mesh id shows identity, capacity and the open trust mode', async () => {
    const r = await b.cli(['id'])
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, new RegExp(`peer id\\s+${b.id}`))
    assert.match(r.stdout, /open lab mode/)
    assert.match(r.stdout, /swarm key\s+yes/)
    const j = JSON.parse((await b.cli(['id', '--json'])).stdout) as NodeInfo
    assert.equal(j.id, b.id)
    assert.equal(j.numa.length, 2)
    assert.equal(j.trust, 'open')
  })

  it('a daemon with another swarm key never appears in the peer lists', async () => {
    const dir = await cluster.home()
    const otherKey = join(dir, 'other.key')
    assert.equal((await cli(['swarm-key', '--out', otherKey])).code, 0)
    const stranger = await cluster.start({ swarmKey: otherKey, bootstrap: [a.addr], config: FAST_CONFIG, tags: ['xai'] })
    // give it several heartbeat intervals and a DHT walk to (fail to) get in
    await new Promise(resolve => setTimeout(resolve, 4_000))
    for (const d of [a, b, c]) {
      const ids = (await d.peers()).map(p => p.id)
      assert.ok(!ids.includes(stranger.id), `${d.id} lists the stranger`)
      const holders = (await d.peers(['--tag', 'xai'])).map(p => p.id)
      assert.ok(!holders.includes(stranger.id))
    }
    assert.deepEqual((await stranger.peers()).map(p => p.id), [stranger.id])
    await cluster.kill(stranger)
  })

  it('a gracefully stopped daemon shows offline on the others at once; a killed one after the timeout', async () => {
    const stopped = await cluster.stop(c)
    assert.equal(stopped.code, 0, stopped.stderr)
    assert.match(stopped.stdout, /stopped mesh daemon/)
    await waitFor('c offline on a', async () => (await a.peers()).find(p => p.id === c.id)?.state === 'offline', 5_000)

    const extra = await cluster.start({ swarmKey, bootstrap: [a.addr], config: FAST_CONFIG })
    await waitFor('extra online on b', async () => (await b.peers()).find(p => p.id === extra.id)?.state === 'online')
    await cluster.kill(extra)
    await waitFor('extra offline on b', async () => (await b.peers()).find(p => p.id === extra.id)?.state === 'offline', 15_000)
  })

  it('a restarted daemon keeps its peer id and remembers its mesh before hearing back', async () => {
    const home = c.home
    const restarted = await cluster.start({ home, swarmKey, config: FAST_CONFIG })
    assert.equal(restarted.id, c.id)
    // no --bootstrap this time: the persisted peer table is what it knows and dials
    const immediately = await restarted.peers()
    assert.ok(immediately.some(p => p.id === a.id), 'peer table was not persisted')
    await waitFor('restarted node sees a online', async () => (await restarted.peers()).find(p => p.id === a.id)?.state === 'online')
    await waitFor('a sees restarted node online', async () => (await a.peers()).find(p => p.id === c.id)?.state === 'online')
  })
})

describe('the CLI without a daemon, and bad input', () => {
  const cluster = new Cluster()
  after(async () => { await cluster.stopAll() })

  it('every daemon command says there is no daemon and exits 4', async () => {
    const home = await cluster.home()
    for (const args of [['peers'], ['id'], ['stop'], ['peers', '--json']]) {
      const r = await cli([...args, '--home', home])
      assert.equal(r.code, 4, `${args.join(' ')}: ${r.stderr}`)
      assert.equal(r.stderr.trim().split('\n').length, 1)
      assert.match(r.stderr, /no mesh daemon is running/)
    }
  })

  it('a bad multiaddr is a usage error (exit 2) in one line', async () => {
    const home = await cluster.home()
    const r = await cli(['start', '--home', home, '--listen', 'not-an-addr'])
    assert.equal(r.code, 2)
    assert.match(r.stderr, /--listen/)
    assert.equal(r.stderr.trim().split('\n').length, 1)
    const b = await cli(['start', '--home', home, '--bootstrap', '/ip4/127.0.0.1/tcp/1'])
    assert.equal(b.code, 2)
    assert.match(b.stderr, /--bootstrap/)
  })

  it('a port in use is one clear line', async () => {
    const first = await cluster.start({})
    const port = /\/tcp\/(\d+)/.exec(first.addr)?.[1]
    const home = await cluster.home()
    const r = await cli(['start', '--home', home, '--no-mdns', '--listen', `/ip4/127.0.0.1/tcp/${port}`])
    assert.notEqual(r.code, 0)
    assert.match(r.stderr, /address already in use/)
    assert.doesNotMatch(r.stderr, /\n\s+at /)
  })

  it('a second daemon on the same home is refused', async () => {
    const first = await cluster.start({})
    const r = await cli(['start', '--home', first.home, '--no-mdns', '--listen', '/ip4/127.0.0.1/tcp/0'])
    assert.notEqual(r.code, 0)
    assert.match(r.stderr, /already running/)
  })

  it('a corrupt key stops the daemon with one line and is not replaced', async () => {
    const home = await cluster.home()
    assert.equal((await cli(['init', '--home', home])).code, 0)
    const garbage = Buffer.from('definitely not a key')
    await writeFile(join(home, 'node.key'), garbage, { mode: 0o600 })
    const r = await cli(['start', '--home', home, '--no-mdns', '--listen', '/ip4/127.0.0.1/tcp/0'])
    assert.notEqual(r.code, 0)
    assert.match(r.stderr, /node\.key/)
    assert.equal(r.stderr.trim().split('\n').length, 1)
    const { readFile } = await import('node:fs/promises')
    assert.deepEqual(await readFile(join(home, 'node.key')), garbage)
  })

  it('a corrupt config and a malformed swarm key are one line each', async () => {
    const home = await cluster.home()
    await writeFile(join(home, 'config.json'), '{ "tags": [1, 2] }')
    const r = await cli(['start', '--home', home, '--no-mdns', '--listen', '/ip4/127.0.0.1/tcp/0'])
    assert.notEqual(r.code, 0)
    assert.match(r.stderr, /config\.json/)
    assert.equal(r.stderr.trim().split('\n').length, 1)

    const home2 = await cluster.home()
    const bad = join(home2, 'bad.key')
    await writeFile(bad, 'hello\n')
    const s = await cli(['start', '--home', home2, '--no-mdns', '--swarm-key', bad, '--listen', '/ip4/127.0.0.1/tcp/0'])
    assert.notEqual(s.code, 0)
    assert.match(s.stderr, /bad\.key/)
    assert.equal(s.stderr.trim().split('\n').length, 1)
  })

  it('an unusable home is one line', async () => {
    const dir = await cluster.home()
    const file = join(dir, 'a-file')
    await writeFile(file, 'x')
    const r = await cli(['start', '--home', join(file, 'home'), '--no-mdns'])
    assert.notEqual(r.code, 0)
    assert.equal(r.stderr.trim().split('\n').length, 1)
    assert.match(r.stderr, /a-file/)
  })

  it('start --detach with an unusable home is one line, as without --detach', async () => {
    const dir = await cluster.home()
    await writeFile(join(dir, 'a-file'), 'x')
    const r = await cli(['start', '--detach', '--home', join(dir, 'a-file', 'home'), '--no-mdns'])
    assert.notEqual(r.code, 0)
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr)
    assert.match(r.stderr, /a-file/)
    assert.doesNotMatch(r.stderr, /internal error|\n\s+at /)
  })

  it('start --detach creates a home that does not exist yet, returns once ready, and mesh stop ends it', async () => {
    const home = join(await cluster.home(), 'not', 'yet')
    const r = await cli(['start', '--detach', '--json', '--home', home, '--no-mdns', '--listen', '/ip4/127.0.0.1/tcp/0'])
    assert.equal(r.code, 0, r.stderr)
    const info = JSON.parse(r.stdout) as NodeInfo
    try {
      // with the V8 flags bin/mesh gives a daemon (node-flags.ts), though this CLI ran without them
      const argv = (await readFile(`/proc/${info.pid}/cmdline`, 'utf8')).split('\0')
      for (const flag of DAEMON_NODE_FLAGS) assert.ok(argv.includes(flag), `daemon runs without ${flag}: ${argv.join(' ')}`)
      const id = await cli(['id', '--json', '--home', home])
      assert.equal((JSON.parse(id.stdout) as NodeInfo).id, info.id)
      const s = await cli(['stop', '--home', home])
      assert.equal(s.code, 0, s.stderr)
      assert.equal((await cli(['id', '--home', home])).code, 4)
    } finally {
      try { process.kill(info.pid, 'SIGKILL') } catch { /* already gone */ }
    }
  })
})
