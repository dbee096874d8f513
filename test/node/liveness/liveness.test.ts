import assert from 'node:assert/strict'
import { afterEach, beforeEach, describe, it, mock } from 'node:test'
import { setImmediate as flush } from 'node:timers/promises'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { pino } from 'pino'
import { liveness } from '../../../src/node/liveness/index.js'
import type { LivenessComponents, LivenessService } from '../../../src/node/liveness/index.js'
import type { PeerId } from '@libp2p/interface'

/** A ping service whose answer the test decides; records what each probe dialled. */
class FakePing {
  answer: 'refuse' | 'answer' = 'refuse'
  readonly targets: unknown[] = []

  async ping (target: unknown): Promise<number> {
    this.targets.push(target)
    if (this.answer === 'refuse') throw new Error('connect ECONNREFUSED 127.0.0.1:1')
    return 1
  }
}

interface Harness {
  service: LivenessService
  ping: FakePing
  events: EventTarget
  peer: PeerId
  lines: Array<{ level: number, msg: string, peer?: string, component?: string }>
  dead: string[]
  alive: string[]
}

async function harness (): Promise<Harness> {
  const peer = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
  const ping = new FakePing()
  const events = new EventTarget()
  const lines: Harness['lines'] = []
  const log = pino({ level: 'debug' }, { write: (s: string) => { lines.push(JSON.parse(s) as Harness['lines'][number]) } })
  const service = liveness({
    suspectAfterMs: 5_000,
    probeIntervalMs: 1_000,
    probeTimeoutMs: 2_000,
    probeFailures: 3,
    addresses: () => ['/ip4/127.0.0.1/tcp/1']
  })({ ping, events: events as unknown as LivenessComponents['events'], log })
  const dead: string[] = []
  const alive: string[] = []
  service.onDead(id => { dead.push(id) })
  service.onAlive(id => { alive.push(id) })
  service.start()
  return { service, ping, events, peer, lines, dead, alive }
}

/** Advance the fake clock, letting each probe's promise settle between timer firings. */
async function advance (ms: number, step = 100): Promise<void> {
  for (let t = 0; t < ms; t += step) {
    mock.timers.tick(step)
    await flush()
  }
}

describe('liveness service', () => {
  beforeEach(() => { mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1_700_000_000_000 }) })
  afterEach(() => { mock.timers.reset() })

  it('a closed connection to a killed peer: probed at once, dead after three refusals, logged at info', async () => {
    const h = await harness()
    const id = h.peer.toString()
    h.service.heard(id)
    h.events.dispatchEvent(new CustomEvent('peer:disconnect', { detail: h.peer }))
    await flush()
    assert.equal(h.ping.targets.length, 1, 'first probe goes out at once')
    assert.equal(h.service.state(id), 'suspect')
    await advance(1_000)
    assert.deepEqual(h.dead, [])
    await advance(1_000)
    assert.deepEqual(h.dead, [id])
    assert.equal(h.service.state(id), 'dead')
    assert.equal(h.ping.targets.length, 3)
    assert.match(String(h.ping.targets[0]), new RegExp(`/ip4/127.0.0.1/tcp/1/p2p/${id}`), 'dials the advertised address')
    const line = h.lines.find(l => l.msg === 'peer dead')
    assert.equal(line?.component, 'liveness')
    assert.equal(line?.level, 30)
    assert.equal(line?.peer, id)
    await advance(10_000)
    assert.equal(h.ping.targets.length, 3, 'the dead are not probed')
    h.service.heard(id)
    assert.deepEqual(h.alive, [id])
    assert.ok(h.lines.some(l => l.msg === 'peer alive again' && l.level === 30))
    h.service.stop()
  })

  it('a silent peer that still answers probes stays alive', async () => {
    const h = await harness()
    const id = h.peer.toString()
    h.ping.answer = 'answer'
    h.service.heard(id)
    await advance(4_900)
    assert.equal(h.ping.targets.length, 0, 'no probe while heartbeats are recent')
    await advance(200)
    assert.equal(h.ping.targets.length, 1)
    assert.equal(h.service.state(id), 'alive')
    assert.deepEqual(h.alive, [id], 'suspect → alive is reported')
    await advance(20_000)
    assert.deepEqual(h.dead, [])
    h.service.stop()
  })

  it('a goodbye is not a death; stop() ends all timers and listeners', async () => {
    const h = await harness()
    const id = h.peer.toString()
    h.service.heard(id)
    h.service.heard(id, true)
    h.events.dispatchEvent(new CustomEvent('peer:disconnect', { detail: h.peer }))
    await advance(20_000)
    assert.equal(h.service.state(id), 'unknown')
    assert.equal(h.ping.targets.length, 0)
    h.service.heard(id)
    h.service.stop()
    h.events.dispatchEvent(new CustomEvent('peer:disconnect', { detail: h.peer }))
    await advance(20_000)
    assert.equal(h.ping.targets.length, 0)
    assert.deepEqual(h.dead, [])
  })

  it('unsubscribe stops notifications; a throwing listener does not stop the others', async () => {
    const h = await harness()
    const id = h.peer.toString()
    const seen: string[] = []
    h.service.onDead(() => { throw new Error('boom') })
    const off = h.service.onDead(p => { seen.push(p) })
    off()
    h.service.heard(id)
    h.events.dispatchEvent(new CustomEvent('peer:disconnect', { detail: h.peer }))
    await advance(3_000)
    assert.deepEqual(seen, [])
    assert.deepEqual(h.dead, [id])
    assert.ok(h.lines.some(l => l.msg === 'liveness listener failed'))
    h.service.stop()
  })
})
