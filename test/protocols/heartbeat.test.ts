import assert from 'node:assert/strict'
import { before, describe, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { TopicValidatorResult } from '@libp2p/gossipsub'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { pino } from 'pino'
import { silentLogger } from '../../src/node/logger.js'
import { openJson, sealJson } from '../../src/protocols/envelope/index.js'
import { HEARTBEAT_TOPIC, heartbeat } from '../../src/protocols/heartbeat/index.js'
import {
  HEARTBEAT_DOMAIN, HEARTBEAT_PAYLOAD_TYPE, MAX_CLOCK_SKEW_MS, MAX_HEARTBEAT_BYTES
} from '../../src/protocols/heartbeat/constants.js'
import type { Logger } from '../../src/node/logger.js'
import type { RecordKind } from '../../src/protocols/envelope/index.js'
import type { Advert, AdvertBody, Heartbeat, HeartbeatInit } from '../../src/protocols/heartbeat/index.js'
import type { Message, PublishResult, TopicValidatorFn } from '@libp2p/gossipsub'
import type { PeerId, PrivateKey } from '@libp2p/interface'

type Listener = Parameters<EventTarget['addEventListener']>[1]

const KIND: RecordKind = { domain: HEARTBEAT_DOMAIN, payloadType: HEARTBEAT_PAYLOAD_TYPE, maxBytes: MAX_HEARTBEAT_BYTES }
const NOW = 1_700_000_000_000
/** long enough that the interval never fires during a test: every publish here is explicit */
const NEVER_MS = 3_600_000

/** The slice of gossipsub the heartbeat uses, in memory: it records calls and delivers what a test hands it. */
class FakePubSub {
  readonly topicValidators = new Map<string, TopicValidatorFn>()
  readonly subscriptions = new Set<string>()
  readonly published: Array<{ topic: string, data: Uint8Array }> = []
  /** calls in order, e.g. 'subscribe /mesh/heartbeat/1.0.0' */
  readonly calls: string[] = []
  private readonly target = new EventTarget()
  private listeners = 0

  subscribe (topic: string): void {
    this.calls.push(`subscribe ${topic}`)
    this.subscriptions.add(topic)
  }

  unsubscribe (topic: string): void {
    this.calls.push(`unsubscribe ${topic}`)
    this.subscriptions.delete(topic)
  }

  async publish (topic: string, data?: Uint8Array): Promise<PublishResult> {
    this.calls.push(`publish ${topic}`)
    this.published.push({ topic, data: data ?? new Uint8Array() })
    return { recipients: [] }
  }

  addEventListener (type: string, listener: Listener): void {
    this.listeners++
    this.target.addEventListener(type, listener)
  }

  removeEventListener (type: string, listener: Listener): void {
    this.listeners--
    this.target.removeEventListener(type, listener)
  }

  get listenerCount (): number { return this.listeners }

  /** What gossipsub emits when a peer's subscriptions arrive (a new connection, a re-subscribe). */
  subscriptionChange (peerId: PeerId, topic: string, subscribe = true): void {
    this.target.dispatchEvent(new CustomEvent('subscription-change', { detail: { peerId, subscriptions: [{ topic, subscribe }] } }))
  }

  /** What gossipsub does with a received message: run the topic validator, emit 'message' on Accept. */
  async deliver (from: PeerId, msg: Message): Promise<TopicValidatorResult> {
    const validator = this.topicValidators.get(msg.topic)
    const result = validator == null ? TopicValidatorResult.Accept : await validator(from, msg)
    if (result === TopicValidatorResult.Accept) this.target.dispatchEvent(new CustomEvent('message', { detail: msg }))
    return result
  }
}

function gossip (from: PeerId, data: Uint8Array, topic = HEARTBEAT_TOPIC): Message {
  if (from.publicKey == null) throw new Error('peer id without a public key')
  return { type: 'signed', from, topic, data, sequenceNumber: 1n, signature: new Uint8Array(64), key: from.publicKey }
}

function body (over: Partial<AdvertBody> = {}): AdvertBody {
  return {
    name: 'node-a',
    version: '0.1.0',
    addresses: ['/ip4/10.0.0.1/tcp/7420'],
    tags: ['xai'],
    cores: 8,
    memoryMB: 16384,
    numa: [{ id: 0, cores: 4, freeCores: 4, memoryMB: 8192, freeMemoryMB: 8192 }, { id: 1, cores: 4, freeCores: 2, memoryMB: 8192, freeMemoryMB: 4096 }],
    gpus: [],
    numactl: true,
    running: 1,
    ...over
  }
}

function advertOf (key: PrivateKey, over: Record<string, unknown> = {}): Record<string, unknown> {
  return { v: 1, ...body(), peerId: peerIdFromPrivateKey(key).toString(), seq: NOW, sentAt: NOW, leaving: false, ...over }
}

/** A logger whose warn lines a test can read: rejections all look alike to gossipsub, the reason tells them apart. */
function capturingLogger (): { log: Logger, reasons: () => string[], messages: () => string[] } {
  const lines: string[] = []
  const log = pino({ level: 'warn' }, { write: (s: string) => { lines.push(s) } })
  return {
    log,
    reasons: () => lines.map(l => (JSON.parse(l) as { reason?: string }).reason ?? ''),
    messages: () => lines.map(l => (JSON.parse(l) as { msg?: string }).msg ?? '')
  }
}

interface Harness {
  service: Heartbeat
  pubsub: FakePubSub
  received: Advert[]
  reasons: () => string[]
  messages: () => string[]
  clock: { now: number }
}

function harness (key: PrivateKey, advert: () => AdvertBody = () => body(), timing: Partial<HeartbeatInit> = { intervalMs: NEVER_MS }): Harness {
  const pubsub = new FakePubSub()
  const received: Advert[] = []
  const clock = { now: NOW }
  const { log, reasons, messages } = capturingLogger()
  const service = heartbeat({ ...timing, advert, onAdvert: a => { received.push(a) }, now: () => clock.now })({
    peerId: peerIdFromPrivateKey(key), privateKey: key, pubsub, log
  })
  return { service, pubsub, received, reasons, messages, clock }
}

/** A started harness, stopped after the test whatever its outcome. */
async function started (t: { after: (fn: () => Promise<void>) => void }, ...args: Parameters<typeof harness>): Promise<Harness> {
  const h = harness(...args)
  t.after(async () => { await h.service.stop() })
  await h.service.start()
  return h
}

async function openAdvert (data: Uint8Array | undefined): Promise<{ signer: PeerId, advert: Advert }> {
  assert.ok(data != null, 'nothing published')
  const { signer, payload } = await openJson(KIND, data)
  return { signer, advert: payload as Advert }
}

describe('heartbeat service', () => {
  let keyA: PrivateKey
  let keyB: PrivateKey
  let idA: PeerId
  let idB: PeerId
  before(async () => {
    keyA = await generateKeyPair('Ed25519')
    keyB = await generateKeyPair('Ed25519')
    idA = peerIdFromPrivateKey(keyA)
    idB = peerIdFromPrivateKey(keyB)
  })

  describe('start and stop', () => {
    it('start installs the validator, subscribes and publishes an advert at once', async (t) => {
      const h = await started(t, keyA)
      assert.ok(h.pubsub.topicValidators.has(HEARTBEAT_TOPIC))
      assert.deepEqual([...h.pubsub.subscriptions], [HEARTBEAT_TOPIC])
      assert.equal(h.pubsub.listenerCount, 2, 'messages and subscription changes')
      assert.deepEqual(h.pubsub.calls, [`subscribe ${HEARTBEAT_TOPIC}`, `publish ${HEARTBEAT_TOPIC}`])
      assert.equal(h.pubsub.published[0]?.topic, HEARTBEAT_TOPIC)
    })

    it('publishes signed adverts with the identity stamped and a strictly increasing seq', async (t) => {
      const h = await started(t, keyA)
      await h.service.publishNow() // same clock reading
      h.clock.now = NOW - 10_000 // clock stepped back
      await h.service.publishNow()
      h.clock.now = NOW + 60_000
      await h.service.publishNow()
      const opened = await Promise.all(h.pubsub.published.map(async p => openAdvert(p.data)))
      assert.equal(opened.length, 4)
      for (const { signer, advert } of opened) {
        assert.ok(signer.equals(idA))
        assert.equal(advert.peerId, idA.toString())
        assert.equal(advert.v, 1)
        assert.equal(advert.leaving, false)
        assert.equal(advert.name, 'node-a')
        assert.deepEqual(advert.numa, body().numa)
      }
      const seqs = opened.map(o => o.advert.seq)
      for (let i = 1; i < seqs.length; i++) assert.ok((seqs[i] ?? 0) > (seqs[i - 1] ?? 0), `seq ${seqs.join(', ')}`)
      assert.equal(seqs[0], NOW, 'seq is clock-based so a restarted node still wins')
      assert.deepEqual(opened.map(o => o.advert.sentAt), [NOW, NOW, NOW - 10_000, NOW + 60_000])
    })

    it('asks for the current advert body on every publish', async (t) => {
      let running = 0
      const h = await started(t, keyA, () => body({ running }))
      running = 3
      await h.service.publishNow()
      const [first, second] = await Promise.all(h.pubsub.published.map(async p => openAdvert(p.data)))
      assert.equal(first?.advert.running, 0)
      assert.equal(second?.advert.running, 3)
    })

    it('stop publishes a goodbye, then unsubscribes and removes the validator and listener', async (t) => {
      const h = harness(keyA)
      // stop is idempotent: this only matters when an assertion fails before the test's own stop
      t.after(async () => { await h.service.stop() })
      await h.service.start()
      await h.service.stop()
      assert.deepEqual(h.pubsub.calls, [
        `subscribe ${HEARTBEAT_TOPIC}`, `publish ${HEARTBEAT_TOPIC}`, `publish ${HEARTBEAT_TOPIC}`, `unsubscribe ${HEARTBEAT_TOPIC}`
      ])
      const hello = await openAdvert(h.pubsub.published[0]?.data)
      const goodbye = await openAdvert(h.pubsub.published[1]?.data)
      assert.equal(goodbye.advert.leaving, true)
      assert.ok(goodbye.advert.seq > hello.advert.seq, 'the goodbye must beat the last advert')
      assert.equal(h.pubsub.topicValidators.size, 0)
      assert.equal(h.pubsub.subscriptions.size, 0)
      assert.equal(h.pubsub.listenerCount, 0)
    })

    it('start and stop are idempotent, publishNow is a no-op while stopped, and it restarts', async (t) => {
      const h = harness(keyA)
      // stop is idempotent: this only matters when an assertion fails before the test's own stop
      t.after(async () => { await h.service.stop() })
      await h.service.stop() // before start: nothing to undo
      await h.service.publishNow()
      assert.equal(h.pubsub.calls.length, 0)
      await h.service.start()
      await h.service.start()
      assert.equal(h.pubsub.calls.filter(c => c.startsWith('subscribe')).length, 1)
      assert.equal(h.pubsub.listenerCount, 2)
      await h.service.stop()
      await h.service.stop()
      assert.equal(h.pubsub.calls.filter(c => c.startsWith('publish')).length, 2)
      await h.service.publishNow()
      assert.equal(h.pubsub.published.length, 2)
      await h.service.start()
      assert.equal(h.pubsub.listenerCount, 2)
      assert.ok(h.pubsub.topicValidators.has(HEARTBEAT_TOPIC))
      await h.service.stop()
      assert.equal(h.pubsub.listenerCount, 0)
      assert.equal(h.pubsub.topicValidators.size, 0)
    })

    it('keeps running when a publish fails (gossip is best effort)', async (t) => {
      const h = harness(keyA)
      t.after(async () => { await h.service.stop() })
      h.pubsub.publish = async () => { throw new Error('NoPeersSubscribedToTopic') }
      await h.service.start()
      await h.service.publishNow()
      assert.ok(h.pubsub.subscriptions.has(HEARTBEAT_TOPIC))
    })
  })

  describe('when it publishes', () => {
    /** the check runs every few ms here; the injected clock alone decides when the interval is up */
    const FAST = { intervalMs: 60_000, changeCheckMs: 5, greetJitterMs: 20 }

    async function until (what: string, cond: () => boolean): Promise<void> {
      for (let i = 0; i < 1000 && !cond(); i++) await sleep(5)
      assert.ok(cond(), `timed out waiting for ${what}`)
    }

    it('stays quiet while the advert is unchanged and the interval has not passed', async (t) => {
      const h = await started(t, keyA, () => body(), FAST)
      await sleep(100) // twenty checks
      assert.equal(h.pubsub.published.length, 1, 'only the advert of start')
    })

    it('re-sends an unchanged advert once the interval has passed', async (t) => {
      const h = await started(t, keyA, () => body(), FAST)
      h.clock.now = NOW + FAST.intervalMs
      await until('the refresh', () => h.pubsub.published.length === 2)
      await sleep(50)
      assert.equal(h.pubsub.published.length, 2, 'the interval restarts at the refresh')
    })

    it('sends a changed advert at the next check, without waiting for the interval', async (t) => {
      let tags = ['xai']
      const h = await started(t, keyA, () => body({ tags }), FAST)
      tags = ['xai', 'junos']
      await until('the changed advert', () => h.pubsub.published.length === 2)
      const changed = await openAdvert(h.pubsub.published[1]?.data)
      assert.deepEqual(changed.advert.tags, ['xai', 'junos'])
      await sleep(50)
      assert.equal(h.pubsub.published.length, 2, 'one advert per change')
    })

    it('greets a newcomer within the jitter, one advert for several greetings', async (t) => {
      const h = await started(t, keyA, () => body(), FAST)
      h.service.greet()
      h.service.greet()
      h.service.greet()
      await until('the greeting', () => h.pubsub.published.length === 2)
      await sleep(50)
      assert.equal(h.pubsub.published.length, 2)
    })

    describe('after a capacity change (publishSoon)', () => {
      /** no periodic check: only publishSoon's window can send here */
      const SOON = { intervalMs: NEVER_MS, changeCheckMs: NEVER_MS, coalesceMs: 20 }

      it('advertises within the window, one advert with the latest numbers for a burst of changes', async (t) => {
        let running = 1
        const h = await started(t, keyA, () => body({ running }), SOON)
        for (running = 2; running <= 4; running++) h.service.publishSoon()
        await until('the advert of the burst', () => h.pubsub.published.length === 2)
        assert.equal((await openAdvert(h.pubsub.published[1]?.data)).advert.running, 5)
        await sleep(60)
        assert.equal(h.pubsub.published.length, 2, 'one advert for the burst')
        running = 1
        h.service.publishSoon()
        await until('the advert of a later change', () => h.pubsub.published.length === 3)
        assert.equal((await openAdvert(h.pubsub.published[2]?.data)).advert.running, 1)
      })

      it('sends nothing when the advert is back to the last one sent before the window ends', async (t) => {
        let running = 1
        const h = await started(t, keyA, () => body({ running }), SOON)
        running = 2 // a task started…
        h.service.publishSoon()
        running = 1 // …and ended within the window
        h.service.publishSoon()
        await sleep(100)
        assert.equal(h.pubsub.published.length, 1, 'only the advert of start')
        running = 2
        h.service.publishSoon()
        await until('the advert of a change that lasted', () => h.pubsub.published.length === 2)
      })

      it('a greeting is still sent when a window found nothing new', async (t) => {
        const h = await started(t, keyA, () => body(), { ...SOON, greetJitterMs: 60 })
        h.service.greet()
        h.service.publishSoon()
        await until('the greeting', () => h.pubsub.published.length === 2)
      })
    })

    it('greets a peer that subscribes to the topic: it may have missed the advert of start', async (t) => {
      const h = await started(t, keyA, () => body(), FAST)
      h.pubsub.subscriptionChange(idB, 'another-topic')
      h.pubsub.subscriptionChange(idB, HEARTBEAT_TOPIC, false)
      await sleep(3 * FAST.greetJitterMs)
      assert.equal(h.pubsub.published.length, 1, 'other topics and unsubscriptions are no reason to greet')
      h.pubsub.subscriptionChange(idB, HEARTBEAT_TOPIC)
      await until('the greeting', () => h.pubsub.published.length === 2)
    })

    it('does not greet after stop', async (t) => {
      const h = await started(t, keyA, () => body(), { ...FAST, greetJitterMs: 30 })
      h.service.greet()
      await h.service.stop()
      await sleep(60)
      assert.deepEqual(h.pubsub.calls.filter(c => c.startsWith('publish')).length, 2, 'start and goodbye only')
    })
  })

  describe('validator', () => {
    async function assertRejected (h: Harness, from: PeerId, msg: Message, reason: RegExp): Promise<void> {
      assert.equal(await h.pubsub.deliver(from, msg), TopicValidatorResult.Reject)
      assert.deepEqual(h.received, [], 'a rejected advert must not reach onAdvert')
      assert.match(h.reasons().at(-1) ?? '', reason)
    }

    it('accepts a genuine advert from another node and hands it to onAdvert', async (t) => {
      const h = await started(t, keyA)
      // B's own service produces the bytes, as on the wire
      const b = harness(keyB, () => body({ name: 'node-b', tags: ['gpu'] }))
      await b.service.start()
      await b.service.stop()
      const [hello, goodbye] = b.pubsub.published
      assert.ok(hello != null && goodbye != null)
      assert.equal(await h.pubsub.deliver(idB, gossip(idB, hello.data)), TopicValidatorResult.Accept)
      assert.equal(await h.pubsub.deliver(idB, gossip(idB, goodbye.data)), TopicValidatorResult.Accept)
      assert.equal(h.received.length, 2)
      assert.equal(h.received[0]?.peerId, idB.toString())
      assert.equal(h.received[0]?.name, 'node-b')
      assert.deepEqual(h.received[0]?.tags, ['gpu'])
      assert.equal(h.received[1]?.leaving, true)
    })

    it('accepts a genuine advert relayed by a third peer', async (t) => {
      const h = await started(t, keyA)
      const relay = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
      const data = await sealJson(KIND, advertOf(keyB), keyB)
      assert.equal(await h.pubsub.deliver(relay, gossip(idB, data)), TopicValidatorResult.Accept)
      assert.equal(h.received.length, 1)
    })

    it('accepts an advert dated up to the allowed clock skew ahead', async (t) => {
      const h = await started(t, keyA)
      const data = await sealJson(KIND, advertOf(keyB, { sentAt: NOW + MAX_CLOCK_SKEW_MS }), keyB)
      assert.equal(await h.pubsub.deliver(idB, gossip(idB, data)), TopicValidatorResult.Accept)
    })

    it('takes the author from the envelope, not from whoever relayed the message', async (t) => {
      const h = await started(t, keyA)
      // B's own (valid) advert, relayed by A: gossipsub signs nothing (StrictNoSign), the envelope proves B wrote it
      const data = await sealJson(KIND, advertOf(keyB), keyB)
      assert.equal(await h.pubsub.deliver(idA, gossip(idA, data)), TopicValidatorResult.Accept)
      assert.deepEqual(h.received.map(a => a.peerId), [idB.toString()])
    })

    it('rejects an advert whose peerId is not its signer', async (t) => {
      const h = await started(t, keyA)
      const data = await sealJson(KIND, advertOf(keyB, { peerId: idA.toString() }), keyB)
      await assertRejected(h, idB, gossip(idB, data), /claims to be/)
    })

    for (const [what, over, reason] of [
      ['an extra field', { admin: true }, /additional properties/],
      ['negative cores', { cores: -1 }, /advert\.cores/],
      ['100 tags', { tags: Array.from({ length: 100 }, (_, i) => `t${i}`) }, /advert\.tags/],
      ['a missing field', { running: undefined }, /running/],
      ['a fractional seq', { seq: 1.5 }, /advert\.seq/],
      ['a wrong version', { v: 2 }, /advert\.v/],
      ['an over-long tag', { tags: ['x'.repeat(65)] }, /advert\.tags\.0/],
      ['a numa node with an extra field', { numa: [{ id: 0, cores: 1, freeCores: 1, memoryMB: 1, freeMemoryMB: 1, x: 1 }] }, /advert\.numa\.0/]
    ] as const) {
      it(`rejects an advert with ${what}`, async (t) => {
        const h = await started(t, keyA)
        const data = await sealJson(KIND, advertOf(keyB, over), keyB)
        await assertRejected(h, idB, gossip(idB, data), reason)
      })
    }

    it('rejects an advert that is not a JSON object', async (t) => {
      const h = await started(t, keyA)
      await assertRejected(h, idB, gossip(idB, await sealJson(KIND, ['not', 'an', 'advert'], keyB)), /advert/)
      await assertRejected(h, idB, gossip(idB, await sealJson(KIND, null, keyB)), /advert/)
    })

    it('rejects an oversize message before opening it', async (t) => {
      const h = await started(t, keyA)
      const oversize = await sealJson({ ...KIND, maxBytes: 4 * MAX_HEARTBEAT_BYTES }, advertOf(keyB, { name: 'x'.repeat(MAX_HEARTBEAT_BYTES) }), keyB)
      await assertRejected(h, idB, gossip(idB, oversize), /over the 16384 byte limit/)
    })

    it('rejects an advert dated too far in the future', async (t) => {
      const h = await started(t, keyA)
      const data = await sealJson(KIND, advertOf(keyB, { sentAt: NOW + MAX_CLOCK_SKEW_MS + 1 }), keyB)
      await assertRejected(h, idB, gossip(idB, data), /in the future/)
    })

    it('accepts an unsigned gossip message: the envelope is the signature (StrictNoSign)', async (t) => {
      const h = await started(t, keyA)
      const data = await sealJson(KIND, advertOf(keyB), keyB)
      assert.equal(await h.pubsub.deliver(idB, { type: 'unsigned', topic: HEARTBEAT_TOPIC, data }), TopicValidatorResult.Accept)
      assert.deepEqual(h.received.map(a => a.peerId), [idB.toString()])
    })

    it('rejects a record of another kind and garbage', async (t) => {
      const h = await started(t, keyA)
      const other = await sealJson({ ...KIND, domain: 'mesh-result' }, advertOf(keyB), keyB)
      await assertRejected(h, idB, gossip(idB, other), /rejected/)
      await assertRejected(h, idB, gossip(idB, new TextEncoder().encode('{"v":1}')), /rejected/)
    })

    it('hands onAdvert only messages its validator accepted', async (t) => {
      const h = await started(t, keyA)
      const data = await sealJson(KIND, advertOf(keyB), keyB)
      // a 'message' event that did not go through the validator (another topic, or a validator that was bypassed)
      h.pubsub.topicValidators.delete(HEARTBEAT_TOPIC)
      await h.pubsub.deliver(idB, gossip(idB, data))
      await h.pubsub.deliver(idB, gossip(idB, data, '/mesh/other/1.0.0'))
      assert.deepEqual(h.received, [])
    })

    it('stops handing adverts to onAdvert after stop', async (t) => {
      const h = harness(keyA)
      // stop is idempotent: this only matters when an assertion fails before the test's own stop
      t.after(async () => { await h.service.stop() })
      await h.service.start()
      const validator = h.pubsub.topicValidators.get(HEARTBEAT_TOPIC)
      await h.service.stop()
      assert.ok(validator != null)
      // a message validated just before stop, delivered just after
      const msg = gossip(idB, await sealJson(KIND, advertOf(keyB), keyB))
      assert.equal(await validator(idB, msg), TopicValidatorResult.Accept)
      await h.pubsub.deliver(idB, msg)
      assert.deepEqual(h.received, [])
    })
  })

  describe('adverts held for the roster', () => {
    it('holds its own newest advert and the newest gossiped advert of each peer', async (t) => {
      const h = await started(t, keyA)
      const older = await sealJson(KIND, advertOf(keyB, { seq: NOW - 5 }), keyB)
      const newer = await sealJson(KIND, advertOf(keyB), keyB)
      await h.pubsub.deliver(idB, gossip(idB, newer))
      // a stale copy arriving late is not held in place of the newer one
      await h.pubsub.deliver(idB, gossip(idB, older))
      await h.service.publishNow()
      const held = new Map(h.service.held().map(a => [a.peerId, a]))
      assert.deepEqual([...held.keys()].sort(), [idA.toString(), idB.toString()].sort())
      assert.deepEqual(held.get(idB.toString())?.envelope, newer)
      const own = h.pubsub.published.at(-1)?.data
      assert.deepEqual(held.get(idA.toString())?.envelope, own, 'the envelope as published, signature and all')
      assert.equal(held.get(idA.toString())?.seq, (await openAdvert(own)).advert.seq)
    })

    it('stops relaying a peer not heard for 1.5 intervals, but always holds its own advert', async (t) => {
      const h = await started(t, keyA, () => body(), { intervalMs: 10_000, changeCheckMs: NEVER_MS })
      await h.pubsub.deliver(idB, gossip(idB, await sealJson(KIND, advertOf(keyB), keyB)))
      h.clock.now = NOW + 15_000
      assert.equal(h.service.held().length, 2, 'heard exactly 1.5 intervals ago: still relayed')
      h.clock.now = NOW + 15_001
      assert.deepEqual(h.service.held().map(a => a.peerId), [idA.toString()], 'a peer silent longer may be dead: relaying it would show a ghost')
    })

    it('receive applies the gossip checks before onAdvert and says why it refused', async (t) => {
      const h = await started(t, keyA)
      const good = await sealJson(KIND, advertOf(keyB), keyB)
      await h.pubsub.deliver(idB, gossip(idB, good))
      assert.equal(await h.service.receive(good, idA), null)
      assert.deepEqual(h.received.map(a => a.peerId), [idB.toString(), idB.toString()], 'the peer table, not the service, decides which copy is news')
      // signed by A, claiming to be B: what a relaying peer might try
      const forged = await sealJson(KIND, advertOf(keyB, { seq: NOW + 1 }), keyA)
      assert.match(await h.service.receive(forged, idA) ?? '', /claims to be/)
      assert.match(await h.service.receive(new Uint8Array([1, 2, 3]), idA) ?? '', /./)
      assert.equal(h.received.length, 2, 'nothing refused reached onAdvert')
      // not relayed onwards: only gossiped adverts are held, so freshness is not restarted at every hop
      const relayedOnly = await sealJson(KIND, advertOf(keyB, { seq: NOW + 2 }), keyB)
      assert.equal(await h.service.receive(relayedOnly, idA), null)
      assert.deepEqual(h.service.held().find(a => a.peerId === idB.toString())?.envelope, good)
      assert.ok(h.reasons().some(r => r.includes('claims to be')), 'the refusal is logged with its reason')
      assert.ok(h.messages().includes('rejected relayed message'), 'the log says it was not gossip')
    })
  })

  it('uses the silent logger without trouble', async () => {
    const pubsub = new FakePubSub()
    const service = heartbeat({ intervalMs: NEVER_MS, advert: () => body(), onAdvert: () => {}, now: () => NOW })({
      peerId: idA, privateKey: keyA, pubsub, log: silentLogger()
    })
    await service.start()
    assert.equal(await pubsub.deliver(idB, gossip(idB, new Uint8Array(3))), TopicValidatorResult.Reject)
    await service.stop()
  })
})
