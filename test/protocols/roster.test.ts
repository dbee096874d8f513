/**
 * The roster exchange between real libp2p nodes (TCP on loopback, one process). The heartbeat side
 * (held adverts, checks on arrival) is stubbed: its own tests cover it.
 */
import assert from 'node:assert/strict'
import { after, describe, it } from 'node:test'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { pino } from 'pino'
import { createMeshLibp2p } from '../../src/node/libp2p.js'
import { silentLogger } from '../../src/node/logger.js'
import { frames } from '../../src/protocols/frames.js'
import { MAX_FRAME_BYTES } from '../../src/protocols/roster/constants.js'
import { ROSTER_PROTOCOL, isHave, roster } from '../../src/protocols/roster/index.js'
import { waitFor } from '../helpers/daemons.js'
import type { MeshLibp2p } from '../../src/node/libp2p.js'
import type { Logger } from '../../src/node/logger.js'
import type { HeldAdvert } from '../../src/protocols/heartbeat/index.js'
import type { Roster, RosterInit } from '../../src/protocols/roster/index.js'
import type { PeerId } from '@libp2p/interface'

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s)
const text = (b: Uint8Array): string => new TextDecoder().decode(b)

/** One side: what it holds, and what reached its `receive` (as text, with who relayed it). */
interface Side {
  node: MeshLibp2p
  held: HeldAdvert[]
  got: Array<{ envelope: string, from: string }>
  service: Roster
}

describe('roster exchange over real libp2p', () => {
  const nodes: MeshLibp2p[] = []
  const services: Roster[] = []

  after(async () => {
    for (const s of services) await s.stop()
    await Promise.all(nodes.map(async n => n.stop()))
  })

  async function side (held: (self: string) => Array<[string, number, string]>, over: Partial<RosterInit> = {}, log: Logger = silentLogger()): Promise<Side> {
    const node = await createMeshLibp2p({ privateKey: await generateKeyPair('Ed25519'), listen: ['/ip4/127.0.0.1/tcp/0'], bootstrap: [], mdns: false })
    await node.start()
    nodes.push(node)
    const s: Side = { node, held: held(node.peerId.toString()).map(([peerId, seq, e]) => ({ peerId, seq, envelope: bytes(e) })), got: [], service: undefined as unknown as Roster }
    s.service = roster({
      held: () => s.held,
      receive: async (envelope: Uint8Array, from: PeerId) => {
        s.got.push({ envelope: text(envelope), from: from.toString() })
        return text(envelope).startsWith('bad') ? 'signature does not verify' : null
      },
      connectDelayMs: 20,
      ...over
    })({ node, log })
    await s.service.start()
    services.push(s.service)
    return s
  }

  it('the dialler of a new connection pulls what it lacks and hands over its own advert', async () => {
    const a = await side(self => [[self, 5, 'A5'], ['peer-x', 7, 'X7'], ['peer-y', 3, 'Y3'], ['peer-z', 9, 'Z9']])
    const b = await side(self => [[self, 1, 'B1'], ['peer-y', 3, 'Y3'], ['peer-z', 4, 'Z4']])
    await b.node.dial(a.node.getMultiaddrs()[0]!)
    await waitFor('b pulled', async () => b.got.length >= 2, 10_000, 20)
    // Y and Z: b holds them (Z older than a's: its newer adverts come by gossip)
    assert.deepEqual(b.got.map(g => g.envelope).sort(), ['A5', 'X7'])
    assert.ok(b.got.every(g => g.from === a.node.peerId.toString()))
    assert.deepEqual(a.got, [{ envelope: 'B1', from: b.node.peerId.toString() }], 'a learns the newcomer in the same exchange')
  })

  it('pull reports what came and what passed the checks', async () => {
    const a = await side(self => [[self, 5, 'A5'], ['peer-x', 7, 'bad X']])
    const b = await side(() => [], { connectDelayMs: 3_600_000 })
    await b.node.dial(a.node.getMultiaddrs()[0]!)
    assert.deepEqual(await b.service.pull(a.node.peerId), { received: 2, accepted: 1 })
  })

  it('refuses a dialler whose own advert fails the checks, or who is not a member, before sending anything', async () => {
    const lines: string[] = []
    const log = pino({ level: 'warn' }, { write: (l: string) => { lines.push(l) } })
    const a = await side(self => [[self, 5, 'A5'], ['peer-x', 7, 'X7']], { connectDelayMs: 3_600_000 }, log)
    const forger = await side(() => [], { connectDelayMs: 3_600_000 })
    forger.held = [{ peerId: forger.node.peerId.toString(), seq: 1, envelope: bytes('bad advert') }]
    await forger.node.dial(a.node.getMultiaddrs()[0]!)
    await assert.rejects(forger.service.pull(a.node.peerId))
    assert.deepEqual(forger.got, [])

    const outsider = await side(self => [[self, 1, 'O1']], { connectDelayMs: 3_600_000 })
    const guarded = await side(self => [[self, 2, 'G2']], { connectDelayMs: 3_600_000, authorise: p => p === outsider.node.peerId.toString() ? 'no valid certificate' : null }, log)
    await outsider.node.dial(guarded.node.getMultiaddrs()[0]!)
    await assert.rejects(outsider.service.pull(guarded.node.peerId))
    assert.deepEqual(outsider.got, [])
    const reasons = lines.map(l => (JSON.parse(l) as { reason?: string }).reason)
    assert.ok(reasons.includes('its own advert was refused: signature does not verify'), reasons.join('; '))
    assert.ok(reasons.includes('not a member: no valid certificate'), reasons.join('; '))
  })

  it('a hostile dialler gets a reset for a malformed have list, and nothing is sent', async () => {
    const lines: string[] = []
    const log = pino({ level: 'warn' }, { write: (l: string) => { lines.push(l) } })
    const a = await side(self => [[self, 5, 'A5']], { connectDelayMs: 3_600_000 }, log)
    const b = await side(() => [], { connectDelayMs: 3_600_000 })
    await b.node.dial(a.node.getMultiaddrs()[0]!)
    for (const have of [{ v: 1, have: [['p', -1]] }, { v: 2, have: [] }, { v: 1, have: [['p', 1, 'extra']] }, { v: 1, have: 'all' }]) {
      const stream = await b.node.dialProtocol(a.node.peerId, ROSTER_PROTOCOL)
      const f = frames(stream, MAX_FRAME_BYTES)
      const signal = AbortSignal.timeout(5_000)
      await f.writeBytes(new Uint8Array(0), { signal })
      await f.writeJson(have, { signal })
      await assert.rejects(f.readBytes({ signal }))
    }
    assert.deepEqual(a.got, [])
    assert.equal(lines.filter(l => l.includes('roster have: does not match its schema')).length, 4)
  })

  it('a peer asking in a loop is cut off', async () => {
    const a = await side(self => [[self, 5, 'A5']], { connectDelayMs: 3_600_000, inboundPerMinute: 2 })
    const b = await side(() => [], { connectDelayMs: 3_600_000 })
    await b.node.dial(a.node.getMultiaddrs()[0]!)
    await b.service.pull(a.node.peerId)
    await b.service.pull(a.node.peerId)
    await assert.rejects(b.service.pull(a.node.peerId))
    assert.equal(b.got.length, 2)
  })

  it('have lists are bounded and strictly shaped', () => {
    assert.ok(isHave({ v: 1, have: [] }))
    assert.ok(isHave({ v: 1, have: [['12D3KooW', 0]] }))
    assert.ok(!isHave({ v: 1, have: Array.from({ length: 1025 }, (_, i) => [`p${i}`, 1]) }))
    assert.ok(!isHave({ v: 1, have: [['x'.repeat(129), 1]] }))
    assert.ok(!isHave({ v: 1, have: [['', 1]] }))
    assert.ok(!isHave({ v: 1, have: [['p', 1.5]] }))
    assert.ok(!isHave({ v: 1, have: [], more: true }))
  })
})
