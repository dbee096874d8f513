/**
 * Issue 5, the lab itself: four hosts (network namespaces on one bridge, one daemon each) find
 * each other, a task pushed from host1 for host3's tag runs on host3 and every host learns the
 * result; cut/heal and kill/restart do what the fault tests rely on; teardown leaves nothing.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { alive } from '../../scripts/lib/proc.js'
import { createLab, gone, leftovers, makeSwarmKey, startHost, teardown } from '../../scripts/lib/netns.js'
import { NetLab, brief, netlabSkip } from '../helpers/netlab.js'

const skip = netlabSkip()

describe('multi-host lab: four hosts on a bridge', { skip }, () => {
  const lab = new NetLab({ hosts: 4 })
  before(async () => { await lab.up() })
  after(() => { lab.down() })

  it('every host has its own address and identity and sees the other three online', async () => {
    for (const h of lab.hosts) {
      const peers = await lab.peers(h.index)
      assert.equal(peers.filter(p => p.state === 'online').length, 4, `${h.name}: ${JSON.stringify(peers.map(p => [p.name, p.state]))}`)
      for (const o of lab.hosts) {
        const p = peers.find(x => x.id === o.id)
        assert.ok(p != null, `${h.name} does not know ${o.name}`)
        assert.equal(p.name, o.name)
        assert.ok(p.addresses.some(a => a.startsWith(`/ip4/${o.ip}/tcp/7420`)), `${o.name} advertises ${p.addresses.join(' ')}`)
      }
    }
  })

  it('a task pushed from host1 with host3\'s tag runs on host3 and every host gets the result', async () => {
    const h3 = lab.host(3)
    const id = await lab.push(1, ['--tag', 'h3', '--', 'sh', '-c', 'echo "$MESH_TASK_ID attempt $MESH_ATTEMPT on $(hostname -I)"'])
    const recs = await lab.waitFor('the result on every host', async () => {
      const all = await lab.statusEverywhere(id)
      if (!all.every(r => r?.state === 'succeeded')) throw new Error(all.map(brief).join(' | '))
      return all
    }, 60_000)
    for (const r of recs) {
      assert.equal(r?.runner, h3.id)
      assert.equal(r?.attempt, 1)
      assert.equal(r?.stdout.trim(), `${id} attempt 1 on ${h3.ip}`)
    }
  })

  it('a cut host goes offline for the others and is back online once healed', async () => {
    const h4 = lab.host(4)
    lab.cut(4)
    await lab.waitFor('host1..3 see host4 offline', async () => {
      for (const k of [1, 2, 3]) if ((await lab.peers(k)).find(p => p.id === h4.id)?.state !== 'offline') return false
      return true
    }, 60_000)
    lab.heal(4)
    await lab.waitMesh()
  })

  it('a host killed with kill -9 restarts with the same home, identity and address', async () => {
    const h2 = lab.host(2)
    const id = h2.id
    lab.kill(2)
    assert.equal(lab.running(2), false)
    await lab.waitFor('host1 sees host2 offline', async () => (await lab.peers(1)).find(p => p.id === id)?.state === 'offline', 60_000)
    await lab.restart(2)
    assert.equal(lab.host(2).id, id)
    await lab.waitMesh()
  })
})

describe('multi-host lab teardown', { skip }, () => {
  it('removes namespaces, links, daemons, orphaned tasks and the folder, also for a half-built lab', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mesh-netlab-'))
    const state = createLab({ dir, hosts: 2, owner: process.pid })
    await makeSwarmKey(state)
    const h1 = state.hosts[0]!
    await startHost(state, h1, [])
    // a task left behind by a crashed daemon: its own process group, MESH_TASK_ID, cwd in the home
    const work = join(h1.home, 'tasks', 'x.1', 'work')
    await mkdir(work, { recursive: true })
    const orphan = spawn('sleep', ['600'], { cwd: work, env: { ...process.env, MESH_TASK_ID: 'x' }, detached: true, stdio: 'ignore' })
    orphan.unref()
    const daemon = h1.pid!
    assert.ok(alive(daemon) && orphan.pid != null && alive(orphan.pid))
    assert.ok(leftovers(state.runId).length >= 5)

    const r = teardown(dir)
    assert.deepEqual(r.problems, [])
    assert.equal(r.namespaces.length, 2)
    assert.deepEqual(leftovers(state.runId), [])
    assert.ok(gone(daemon), 'the daemon survived')
    await new Promise(resolve => { if (orphan.exitCode != null || orphan.signalCode != null) resolve(null); else orphan.once('exit', resolve) })
    assert.equal(orphan.signalCode, 'SIGKILL')
    assert.ok(!existsSync(dir))
    // idempotent
    assert.deepEqual(teardown(dir).problems, [])
  })
})
