/**
 * Issue 4 end to end: a mesh authority's certificates decide membership, tags and roles on every
 * node; revocation drops a peer from the whole mesh. Each refusal is checked with its message.
 */
import assert from 'node:assert/strict'
import { copyFile, mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { Cluster, FAST_CONFIG, cli, waitFor } from '../helpers/daemons.js'
import type { DaemonSpec, TestDaemon } from '../helpers/daemons.js'

interface Issued { home: string, peerId: string, cert: string }

describe('a mesh with an authority', () => {
  const cluster = new Cluster()
  let ca: string, otherCa: string
  let a: TestDaemon, b: TestDaemon, stranger: TestDaemon, uncertified: TestDaemon

  async function certify (name: string, tags: string, roles: string, opts: { ca?: string, ttl?: string, forPeer?: string } = {}): Promise<Issued> {
    const home = await cluster.home()
    const init = await cli(['init', '--home', home, '--json'])
    assert.equal(init.code, 0, init.stderr)
    const peerId = (JSON.parse(init.stdout) as { peerId: string }).peerId
    const cert = join(home, `${name}.crt`)
    const s = await cli(['ca', 'sign', opts.forPeer ?? peerId, '--ca', opts.ca ?? ca, '--name', name, '--tags', tags, '--roles', roles, '--ttl', opts.ttl ?? '1h', '--out', cert])
    assert.equal(s.code, 0, s.stderr)
    return { home, peerId, cert }
  }

  async function startCertified (i: Issued, spec: DaemonSpec & { authority?: string } = {}): Promise<TestDaemon> {
    return cluster.start({
      ...spec,
      home: i.home,
      config: FAST_CONFIG,
      extraArgs: ['--authority', spec.authority ?? join(ca, 'ca.crt'), '--cert', i.cert, ...(spec.extraArgs ?? [])]
    })
  }

  before(async () => {
    ca = await cluster.home()
    otherCa = await cluster.home()
    assert.equal((await cli(['ca', 'init', '--ca', ca, '--name', 'lab authority'])).code, 0)
    assert.equal((await cli(['ca', 'init', '--ca', otherCa])).code, 0)
    a = await startCertified(await certify('alpha', 'xai,junos', 'run,dispatch'))
    // b may run xai tasks but not dispatch, and advertises a tag its certificate lacks
    b = await startCertified(await certify('beta', 'xai', 'run'), { tags: ['xai,gpu'], bootstrap: [a.addr] })
    // certified by an authority the others do not trust; it trusts its own
    const s = await certify('stranger', 'xai', 'run,dispatch', { ca: otherCa })
    stranger = await startCertified(s, { authority: join(otherCa, 'ca.crt'), bootstrap: [a.addr] })
    // same swarm, no authority at all (open mode)
    uncertified = await cluster.start({ bootstrap: [a.addr], config: FAST_CONFIG })
    await waitFor('a and b see each other', async () => (await a.peers()).find(p => p.id === b.id)?.state === 'online')
  })

  after(async () => { await cluster.stopAll() })

  it('mesh id shows the authority mode and the certificate', async () => {
    const r = await b.cli(['id'])
    assert.match(r.stdout, /trust\s+authority .*certificate 'beta' roles run tags xai/)
  })

  it('peers without a valid certificate never appear: another authority, no certificate', async () => {
    await new Promise(resolve => setTimeout(resolve, 2_000))
    const ids = (await a.peers()).map(p => p.id)
    assert.ok(!ids.includes(stranger.id), 'a peer certified by another authority is listed')
    assert.ok(!ids.includes(uncertified.id), 'a peer without a certificate is listed')
    assert.match(a.stderr(), /certificate is from an unknown authority|unknown authority/)
    assert.match(a.stderr(), /presents no certificate/)
  })

  it('a peer\'s tags are those of its certificate; no task with the extra tag lands there', async () => {
    const pb = (await a.peers()).find(p => p.id === b.id)
    assert.deepEqual(pb?.tags, ['xai'])
    assert.match(b.stderr(), /tags come from the certificate/)
    const r = await a.cli(['push', '--wait', '1', '--tag', 'gpu', '--', 'true'])
    assert.equal(r.code, 3, r.stderr)
  })

  it('a certified dispatcher runs tasks on a certified runner', async () => {
    const r = await a.cli(['push', '--target', b.id, '--', 'echo', 'hello from beta'])
    assert.equal(r.code, 0, r.stderr)
    assert.equal(r.stdout, 'hello from beta\n')
  })

  it('dispatch without the dispatch role is refused by the runner', async () => {
    const r = await b.cli(['push', '--wait', '1', '--target', a.id, '--', 'true'])
    assert.equal(r.code, 3)
    assert.match(r.stderr, /may not dispatch: its certificate lacks the dispatch role/)
  })

  it('a node without a certificate may dispatch nothing', async () => {
    await waitFor('uncertified knows a', async () => (await uncertified.peers()).some(p => p.id === a.id))
    const r = await uncertified.cli(['push', '--wait', '1', '--target', a.id, '--', 'true'])
    assert.equal(r.code, 3)
    assert.match(r.stderr, /presents no certificate/)
  })

  it('a node refuses to start with a certificate for another peer id, or none', async () => {
    const other = await certify('thief', 'xai', 'run', { forPeer: a.id })
    const r = await cli(['start', '--home', other.home, '--no-mdns', '--listen', '/ip4/127.0.0.1/tcp/0', '--authority', join(ca, 'ca.crt'), '--cert', other.cert])
    assert.notEqual(r.code, 0)
    assert.match(r.stderr, /certificate is for peer/)
    assert.equal(r.stderr.trim().split('\n').length, 1)
    const bare = await cluster.home()
    const n = await cli(['start', '--home', bare, '--no-mdns', '--listen', '/ip4/127.0.0.1/tcp/0', '--authority', join(ca, 'ca.crt')])
    assert.notEqual(n.code, 0)
    assert.match(n.stderr, /no usable certificate/)
  })

  it('an expired certificate: the node drops out of the mesh', async () => {
    const e = await startCertified(await certify('ephemeral', 'xai', 'run', { ttl: '12s' }), { bootstrap: [a.addr] })
    await waitFor('ephemeral online at a', async () => (await a.peers()).find(p => p.id === e.id)?.state === 'online')
    await waitFor('ephemeral offline at a', async () => (await a.peers()).find(p => p.id === e.id)?.state === 'offline', 30_000)
    assert.match(a.stderr(), /certificate expired at/)
    const r = await a.cli(['push', '--wait', '0', '--target', e.id, '--', 'true'])
    assert.equal(r.code, 3)
  })

  it('revocation drops the peer everywhere; an older list after a newer one is refused', async () => {
    const r = await cli(['ca', 'revoke', b.id, '--ca', ca, '--home', a.home])
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /version 1/)
    const old = await cluster.home()
    await copyFile(join(ca, 'revocations.crl'), join(old, 'revocations.crl'))
    await waitFor('b offline at a', async () => (await a.peers()).find(p => p.id === b.id)?.state !== 'online', 15_000)
    const push = await a.cli(['push', '--wait', '1', '--target', b.id, '--', 'true'])
    assert.equal(push.code, 3)
    // a second revocation (version 2) then the old version 1 again
    assert.equal((await cli(['ca', 'revoke', stranger.id, '--ca', ca, '--home', a.home])).code, 0)
    await mkdir(old, { recursive: true })
    const stale = await cli(['ca', 'publish', '--ca', old, '--home', a.home])
    assert.notEqual(stale.code, 0)
    assert.match(stale.stderr, /revocation list refused/)
    const id = JSON.parse((await a.cli(['id', '--json'])).stdout) as { revocationVersion: number }
    assert.equal(id.revocationVersion, 2)
  })
})

describe('invite and join', () => {
  const cluster = new Cluster()
  after(async () => { await cluster.stopAll() })

  it('invite → join → the new node runs a tagged task; used and expired tokens are refused', async () => {
    const ca = await cluster.home()
    const keyDir = await cluster.home()
    const swarmKey = join(keyDir, 'swarm.key')
    assert.equal((await cli(['swarm-key', '--out', swarmKey])).code, 0)
    assert.equal((await cli(['ca', 'init', '--ca', ca])).code, 0)
    const issuerHome = await cluster.home()
    const init = JSON.parse((await cli(['init', '--home', issuerHome, '--json'])).stdout) as { peerId: string }
    const cert = join(issuerHome, 'issuer.crt')
    assert.equal((await cli(['ca', 'sign', init.peerId, '--ca', ca, '--name', 'issuer', '--roles', 'run,dispatch', '--out', cert])).code, 0)
    const issuer = await cluster.start({ home: issuerHome, swarmKey, config: FAST_CONFIG, extraArgs: ['--authority', join(ca, 'ca.crt'), '--cert', cert] })

    const inv = await cli(['ca', 'invite', '--ca', ca, '--tags', 'xai', '--roles', 'run', '--ttl', '15m', '--home', issuer.home])
    assert.equal(inv.code, 0, inv.stderr)
    const token = inv.stdout.trim()
    assert.match(token, /^mesh1\./)

    const newHome = await cluster.home()
    const joined = await cli(['join', token, '--home', newHome, '--name', 'newbie'])
    assert.equal(joined.code, 0, joined.stderr)
    assert.match(joined.stdout, /joined as newbie .*tags xai, roles run/)
    // the joined home has everything: no flags needed but a loopback listen address for the test
    const newbie = await cluster.start({ home: newHome, config: { ...FAST_CONFIG, bootstrap: [issuer.addr] } })
    await waitFor('issuer sees newbie with tag xai', async () => (await issuer.peers()).find(p => p.id === newbie.id && p.state === 'online')?.tags.includes('xai'))
    const run = await issuer.cli(['push', '--tag', 'xai', '--', 'echo', 'ran on the joined node'])
    assert.equal(run.code, 0, run.stderr)
    assert.equal(run.stdout, 'ran on the joined node\n')
    const rec = JSON.parse((await issuer.cli(['push', '--json', '--tag', 'xai', '--', 'true'])).stdout) as { runner: string }
    assert.equal(rec.runner, newbie.id)

    const again = await cli(['join', token, '--home', await cluster.home()])
    assert.notEqual(again.code, 0)
    assert.match(again.stderr, /invite already used/)
    assert.equal(again.stderr.trim().split('\n').length, 1)

    const short = await cli(['ca', 'invite', '--ca', ca, '--tags', 'xai', '--roles', 'run', '--ttl', '1s', '--home', issuer.home])
    await new Promise(resolve => setTimeout(resolve, 1_500))
    const late = await cli(['join', short.stdout.trim(), '--home', await cluster.home()])
    assert.notEqual(late.code, 0)
    assert.match(late.stderr, /invite expired/)
  })
})
