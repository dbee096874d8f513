import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { Detector } from '../../../src/node/liveness/index.js'

const POLICY = { suspectAfterMs: 5_000, probeIntervalMs: 1_000, probeFailures: 3 }
const T0 = 1_700_000_000_000

function alivePeer (id = 'a', at = T0): Detector {
  const d = new Detector(POLICY)
  d.heard(id, at)
  return d
}

describe('failure detector', () => {
  it('tracks only peers heard in a heartbeat', () => {
    const d = new Detector(POLICY)
    assert.equal(d.state('a'), 'unknown')
    assert.equal(d.disconnected('a', T0), undefined)
    assert.deepEqual(d.tick(T0 + 60_000), [])
    assert.equal(d.nextWakeAt(), undefined)
    assert.deepEqual(d.heard('a', T0), { peerId: 'a', from: 'unknown', to: 'alive', reason: 'first heartbeat' })
    assert.equal(d.state('a'), 'alive')
  })

  it('suspects a peer silent for suspectAfterMs, not a moment earlier', () => {
    const d = alivePeer()
    assert.equal(d.nextWakeAt(), T0 + 5_000)
    assert.deepEqual(d.tick(T0 + 4_999), [])
    d.heard('a', T0 + 4_000)
    assert.deepEqual(d.tick(T0 + 8_999), [])
    const [t] = d.tick(T0 + 9_000)
    assert.equal(t?.to, 'suspect')
    assert.match(t?.reason ?? '', /no heartbeat for 5000 ms/)
  })

  it('suspects at once when the connection closes, and probes at once', () => {
    const d = alivePeer()
    assert.equal(d.disconnected('a', T0 + 100)?.to, 'suspect')
    assert.equal(d.nextWakeAt(), T0 + 100)
    assert.deepEqual(d.dueProbes(T0 + 100), ['a'])
    // a second disconnect of a suspect changes nothing
    assert.equal(d.disconnected('a', T0 + 150), undefined)
  })

  it('a killed peer (probes refused at once) is dead after probeFailures probes, one interval apart', () => {
    const d = alivePeer()
    d.disconnected('a', T0)
    const deaths: number[] = []
    for (let now = T0; now <= T0 + 10_000; now += 50) {
      for (const id of d.dueProbes(now)) {
        const t = d.probeFailed(id, now, 'connection refused')
        if (t?.to === 'dead') deaths.push(now)
      }
    }
    assert.deepEqual(deaths, [T0 + 2_000])
    assert.equal(d.state('a'), 'dead')
    assert.deepEqual(d.dueProbes(T0 + 20_000), [], 'the dead are not probed')
    assert.equal(d.nextWakeAt(), undefined)
  })

  it('never runs two probes of one peer at once; the next waits for the running one', () => {
    const d = alivePeer()
    d.disconnected('a', T0)
    assert.deepEqual(d.dueProbes(T0), ['a'])
    assert.deepEqual(d.dueProbes(T0 + 1_500), [], 'first still running past the interval')
    assert.equal(d.nextWakeAt(), undefined, 'nothing to wake for while the probe runs')
    d.probeFailed('a', T0 + 2_000, 'timed out')
    assert.deepEqual(d.dueProbes(T0 + 2_000), ['a'], 'overdue: goes out when the first ends')
  })

  it('a partitioned peer (probes time out) is dead after suspectAfter + failures × timeout', () => {
    const timeout = 2_000
    const d = alivePeer()
    let dead: number | undefined
    let now = T0
    const running = new Map<string, number>()
    for (; now <= T0 + 30_000 && dead == null; now += 100) {
      d.tick(now)
      for (const [id, started] of running) {
        if (now - started >= timeout) {
          running.delete(id)
          if (d.probeFailed(id, now, 'timed out')?.to === 'dead') dead = now
        }
      }
      for (const id of d.dueProbes(now)) running.set(id, now)
    }
    assert.equal(dead, T0 + 5_000 + 3 * timeout)
  })

  it('a stall shorter than the probes\' patience never reaches dead (SIGSTOP 2 s)', () => {
    const d = alivePeer()
    d.tick(T0 + 5_000)
    assert.equal(d.state('a'), 'suspect')
    assert.deepEqual(d.dueProbes(T0 + 5_000), ['a'])
    // the stopped peer answers the queued ping once it runs again
    assert.deepEqual(d.probeSucceeded('a', T0 + 6_500), { peerId: 'a', from: 'suspect', to: 'alive', reason: 'probe answered' })
    assert.equal(d.state('a'), 'alive')
    assert.equal(d.nextWakeAt(), T0 + 6_500 + 5_000, 'a probe answer counts as contact')
  })

  it('failures must be consecutive: a heartbeat or answer in between starts the count again', () => {
    const d = alivePeer()
    d.disconnected('a', T0)
    d.dueProbes(T0)
    d.probeFailed('a', T0 + 10, 'refused')
    d.dueProbes(T0 + 1_000)
    d.probeFailed('a', T0 + 1_010, 'refused')
    assert.equal(d.heard('a', T0 + 1_200)?.to, 'alive')
    d.disconnected('a', T0 + 1_300)
    d.dueProbes(T0 + 1_300)
    assert.equal(d.probeFailed('a', T0 + 1_310, 'refused'), undefined)
    d.dueProbes(T0 + 2_300)
    assert.equal(d.probeFailed('a', T0 + 2_310, 'refused'), undefined)
    d.dueProbes(T0 + 3_300)
    assert.equal(d.probeFailed('a', T0 + 3_310, 'refused')?.to, 'dead')
  })

  it('a heartbeat brings a dead peer back; a stray late probe answer does not', () => {
    const d = alivePeer()
    d.disconnected('a', T0)
    for (const at of [T0, T0 + 1_000, T0 + 2_000]) {
      d.dueProbes(at)
      d.probeFailed('a', at, 'refused')
    }
    assert.equal(d.state('a'), 'dead')
    assert.equal(d.probeSucceeded('a', T0 + 2_100), undefined)
    assert.equal(d.state('a'), 'dead')
    assert.deepEqual(d.heard('a', T0 + 3_000), { peerId: 'a', from: 'dead', to: 'alive', reason: 'heartbeat' })
  })

  it('a result arriving after a heartbeat revived the peer is ignored', () => {
    const d = alivePeer()
    d.disconnected('a', T0)
    d.dueProbes(T0)
    d.heard('a', T0 + 100)
    assert.equal(d.probeFailed('a', T0 + 2_000, 'timed out'), undefined)
    assert.equal(d.state('a'), 'alive')
  })

  it('a goodbye forgets the peer: gone, not dead, and its closing connection raises nothing', () => {
    const d = alivePeer()
    assert.deepEqual(d.heard('a', T0 + 100, true), { peerId: 'a', from: 'alive', to: 'unknown', reason: 'said goodbye' })
    assert.equal(d.state('a'), 'unknown')
    assert.equal(d.disconnected('a', T0 + 200), undefined)
    assert.deepEqual(d.tick(T0 + 60_000), [])
    assert.equal(d.heard('a', T0 + 300, true), undefined, 'a second goodbye is no news')
    assert.equal(d.heard('a', T0 + 400)?.from, 'unknown', 'a restarted peer is tracked again')
  })

  it('nextWakeAt is the earliest pending deadline over all peers', () => {
    const d = new Detector(POLICY)
    d.heard('a', T0)
    d.heard('b', T0 + 1_000)
    assert.equal(d.nextWakeAt(), T0 + 5_000)
    d.disconnected('b', T0 + 2_000)
    assert.equal(d.nextWakeAt(), T0 + 2_000)
    d.dueProbes(T0 + 2_000)
    assert.equal(d.nextWakeAt(), T0 + 5_000)
    d.probeFailed('b', T0 + 2_010, 'refused')
    assert.equal(d.nextWakeAt(), T0 + 3_000)
    assert.deepEqual(d.list(), [{ peerId: 'a', state: 'alive' }, { peerId: 'b', state: 'suspect' }])
  })
})
