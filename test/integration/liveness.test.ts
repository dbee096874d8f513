/**
 * Failure detection with real daemons: a SIGKILLed daemon is declared dead (and shown offline) by
 * the others; a daemon stopped for 2 s, or a machine with every core busy, is never declared dead.
 * offlineAfterMs is set far out, so "offline" can only come from the failure detector.
 * No timing is asserted (machines are noisy); how long detection took is printed for the record.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { availableParallelism } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { Cluster, cli, waitFor } from '../helpers/daemons.js'
import type { TestDaemon } from '../helpers/daemons.js'
import type { ChildProcess } from 'node:child_process'

const CONFIG = { heartbeatIntervalMs: 500, offlineAfterMs: 600_000 }

interface LogLine { time: string, msg: string, component?: string, peer?: string }

/** The daemon's log lines of `component` about `peer`. */
function logLines (d: TestDaemon, peer: string, component: string): LogLine[] {
  return d.stderr().split('\n').flatMap(line => {
    try {
      const l = JSON.parse(line) as LogLine
      return l.component === component && l.peer === peer ? [l] : []
    } catch { return [] }
  })
}

const livenessLines = (d: TestDaemon, peer: string): LogLine[] => logLines(d, peer, 'liveness')

const deaths = (d: TestDaemon, peer: string): LogLine[] => livenessLines(d, peer).filter(l => l.msg === 'peer dead')

describe('failure detection', () => {
  const cluster = new Cluster()
  let a: TestDaemon, b: TestDaemon, c: TestDaemon
  const burners: ChildProcess[] = []

  before(async () => {
    const dir = await cluster.home()
    const swarmKey = join(dir, 'swarm.key')
    assert.equal((await cli(['swarm-key', '--out', swarmKey])).code, 0)
    a = await cluster.start({ swarmKey, config: CONFIG })
    b = await cluster.start({ swarmKey, bootstrap: [a.addr], config: CONFIG })
    c = await cluster.start({ swarmKey, bootstrap: [a.addr], config: CONFIG })
    for (const d of [a, b, c]) {
      await waitFor(`${d.id} sees all alive`, async () => {
        const peers = await d.peers()
        return peers.filter(p => !p.self && p.state === 'online' && p.liveness === 'alive').length === 2
      })
    }
  })

  after(async () => {
    for (const p of burners) if (p.pid != null && p.exitCode == null) { try { process.kill(-p.pid, 'SIGKILL') } catch { /* gone */ } }
    await cluster.stopAll()
  })

  it('a daemon stopped for 2 s (SIGSTOP) is never declared dead', async () => {
    const pid = b.proc.pid ?? 0
    process.kill(-pid, 'SIGSTOP')
    try {
      await sleep(2_000)
    } finally {
      process.kill(-pid, 'SIGCONT')
    }
    // long enough for probes started during the stop to finish either way
    await sleep(8_000)
    for (const d of [a, c]) {
      assert.deepEqual(deaths(d, b.id), [], `${d.id} declared the stopped daemon dead`)
      const row = (await d.peers()).find(p => p.id === b.id)
      assert.equal(row?.state, 'online')
      assert.equal(row?.liveness, 'alive')
    }
    // it never went offline, so each observer logged it coming online once, at the start
    for (const d of [a, c]) assert.equal(logLines(d, b.id, 'peers').filter(l => l.msg === 'peer online').length, 1, `${d.id}: 'peer online' lines for the stopped daemon`)
    const suspicions = [a, c].flatMap(d => livenessLines(d, b.id)).filter(l => l.msg === 'peer suspect').length
    console.log(`# SIGSTOP 2 s: suspected ${suspicions} time(s) by the two observers, never dead`)
  })

  it('a machine with every core busy declares no one dead', async () => {
    // one busy loop per core saturates the machine; kept short, other test files share it
    for (let i = 0; i < availableParallelism(); i++) {
      burners.push(spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore', detached: true }))
    }
    await sleep(6_000)
    for (const p of burners) if (p.pid != null) process.kill(-p.pid, 'SIGKILL')
    for (const [d, others] of [[a, [b, c]], [b, [a, c]], [c, [a, b]]] as const) {
      for (const o of others) assert.deepEqual(deaths(d, o.id), [], `${d.id} declared ${o.id} dead under load`)
    }
  })

  it('a killed daemon (SIGKILL) is declared dead and shown offline; a restart brings it back', async () => {
    const killedAt = Date.now()
    await cluster.kill(c)
    for (const d of [a, b]) {
      const row = await waitFor(`${d.id} reports the killed daemon dead`, async () => {
        const r = (await d.peers()).find(p => p.id === c.id)
        return r?.liveness === 'dead' ? r : undefined
      }, 30_000, 100)
      assert.equal(row.state, 'offline', 'dead peers show offline at once (offlineAfterMs is 10 min here)')
      const [line] = deaths(d, c.id)
      assert.ok(line, 'a "peer dead" log line')
      console.log(`# SIGKILL: ${d.id.slice(-6)} logged it dead ${Date.parse(line.time) - killedAt} ms after the kill`)
    }
    const again = await cluster.start({ home: c.home, bootstrap: [a.addr], config: CONFIG })
    await waitFor('the restarted daemon alive again at a', async () => {
      const r = (await a.peers()).find(p => p.id === again.id)
      return r?.state === 'online' && r.liveness === 'alive'
    })
    assert.ok(livenessLines(a, c.id).some(l => l.msg === 'peer alive again'))
    // online at the start, then again after its death: one line each time
    assert.equal(logLines(a, c.id, 'peers').filter(l => l.msg === 'peer online').length, 2)
  })
})
