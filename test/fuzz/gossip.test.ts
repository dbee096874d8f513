/**
 * Signed gossip records as a node receives them: the envelope opener, then each topic's whole
 * validator (envelope → signer = sender → schema → the topic's checks), fed random bytes,
 * mutated envelopes, and correctly signed envelopes around mutated payloads (which is what
 * reaches the schema). A message is accepted or rejected, never throws, and the logged reason
 * is one clear line.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { TopicValidatorResult } from '@libp2p/gossipsub'
import { pino } from 'pino'
import { openJson, sealJson } from '../../src/protocols/envelope/index.js'
import { heartbeat } from '../../src/protocols/heartbeat/index.js'
import { results } from '../../src/protocols/results/index.js'
import { revocations } from '../../src/protocols/revocations/index.js'
import { announce, assertClearError, assertClearLine, withinBudget } from './lib/oracle.js'
import { mutateBytes, mutateJson } from './lib/mutate.js'
import { baseSeed, forEachCase, int, iterations, randomBytes } from './lib/rand.js'
import type { Rand } from './lib/rand.js'
import type { Json } from './lib/mutate.js'
import type { Logger } from '../../src/node/logger.js'
import type { RecordKind } from '../../src/protocols/envelope/index.js'
import type { TopicPubSub } from '../../src/protocols/signed-topic.js'
import type { Message } from '@libp2p/gossipsub'
import type { PeerId, PrivateKey } from '@libp2p/interface'

type Validator = (from: PeerId, msg: Message) => Promise<TopicValidatorResult>

/** A pubsub that only records the validator a topic installs. */
function fakePubSub (): TopicPubSub & { validators: Map<string, Validator> } {
  const validators = new Map<string, Validator>()
  return {
    validators,
    topicValidators: validators,
    subscribe: () => {},
    unsubscribe: () => {},
    publish: async () => ({ recipients: [] }),
    addEventListener: () => {},
    removeEventListener: () => {}
  }
}

/** A logger whose lines are kept, to check every logged refusal reason. */
function captureLogger (): { log: Logger, reasons: string[] } {
  const reasons: string[] = []
  const log = pino({ level: 'debug' }, {
    write: (line: string) => {
      const entry = JSON.parse(line) as { reason?: unknown }
      if (entry.reason !== undefined) reasons.push(entry.reason as string)
    }
  }) as unknown as Logger
  return { log, reasons }
}

const NOW = Date.parse('2025-06-01T00:00:00.000Z')

interface Topic {
  name: string
  kind: RecordKind
  validator: Validator
  /** a payload this topic accepts from `sender` */
  valid: (sender: string) => Json
}

async function topics (key: PrivateKey, pubsub: ReturnType<typeof fakePubSub>, log: Logger): Promise<Topic[]> {
  const peerId = peerIdFromPrivateKey(key)
  // start() installs each topic's validator on the pubsub, where the test picks it up
  const found: Topic[] = []
  const hb = pubsub.validators
  const services = [
    heartbeat({ advert: () => ({ name: 'n', version: '1', addresses: [], tags: [], cores: 1, memoryMB: 1, numa: [], gpus: [], numactl: false, running: 0 }), onAdvert: () => {}, now: () => NOW, intervalMs: 1e9 })({ peerId, privateKey: key, pubsub, log }),
    results({ onRecord: () => {} })({ privateKey: key, pubsub, log }),
    revocations({ check: async () => null, onList: () => {} })({ privateKey: key, pubsub, log })
  ]
  await services[0]?.start()
  await services[1]?.start()
  await services[2]?.start()
  const validator = (topic: string): Validator => {
    const v = hb.get(topic)
    assert.ok(v != null, `no validator for ${topic}`)
    return v
  }
  found.push({
    name: 'heartbeat',
    kind: { domain: 'mesh-heartbeat', payloadType: new TextEncoder().encode('/mesh/heartbeat/1.0.0'), maxBytes: 16 * 1024 },
    validator: validator('/mesh/heartbeat/1.0.0'),
    valid: sender => ({
      v: 1, peerId: sender, seq: NOW, sentAt: NOW, name: 'lab2', version: '0.1.0', addresses: ['/ip4/10.0.0.2/tcp/7420'], tags: ['xai'],
      cores: 8, memoryMB: 32000, numa: [{ id: 0, cores: 8, freeCores: 8, memoryMB: 32000, freeMemoryMB: 32000 }],
      gpus: [{ index: 0, name: 'A100', memoryMB: 40000 }], numactl: true, running: 0, leaving: false
    })
  })
  found.push({
    name: 'results',
    kind: { domain: 'mesh-result', payloadType: new TextEncoder().encode('/mesh/results/1.0.0'), maxBytes: 96 * 1024 },
    validator: validator('/mesh/results/1.0.0'),
    valid: sender => ({
      id: 't1', name: 'n', state: 'succeeded', exitCode: 0, runner: sender, runnerName: 'lab2', numaNode: 0, attempt: 1, dispatcher: sender,
      group: 't1', tags: ['xai'], submittedAt: '2025-06-01T00:00:00.000Z', startedAt: null, finishedAt: null, stdout: 'out', stderr: '', error: null, updatedAt: NOW
    })
  })
  found.push({
    name: 'revocations',
    kind: { domain: 'mesh-revocations-gossip', payloadType: new TextEncoder().encode('/mesh/revocations/1.0.0'), maxBytes: 1_500_000 },
    validator: validator('/mesh/revocations/1.0.0'),
    valid: () => ({ list: Buffer.from('list').toString('base64') })
  })
  for (const s of services) await s.stop()
  return found
}

function message (topic: string, from: PeerId, data: Uint8Array): Message {
  return { type: 'signed', topic, from, data, sequenceNumber: 1n, signature: new Uint8Array(64), key: new Uint8Array(36) } as unknown as Message
}

/** Raw JSON payload bytes sealed by `key`: the only way a peer gets a non-JSON-safe text signed. */
async function sealed (kind: RecordKind, value: Json, key: PrivateKey): Promise<Uint8Array> {
  return sealJson({ ...kind, maxBytes: 10 * 1024 * 1024 }, value, key)
}

async function input (rand: Rand, topic: Topic, key: PrivateKey, valid: Uint8Array): Promise<Uint8Array> {
  const sender = peerIdFromPrivateKey(key).toString()
  switch (int(rand, 4)) {
    case 0: return randomBytes(rand, int(rand, 512))
    case 1: return mutateBytes(valid, rand)
    default: return sealed(topic.kind, mutateJson(topic.valid(sender), rand), key)
  }
}

/** The payload text inside an envelope, for a failure message. */
async function payloadOf (kind: RecordKind, data: Uint8Array): Promise<string> {
  try {
    return JSON.stringify((await openJson({ ...kind, maxBytes: Infinity }, data)).payload).slice(0, 400)
  } catch {
    return 'none'
  }
}

describe('fuzz: signed gossip records', () => {
  it('openJson: opens a valid envelope, refuses anything else with one clear line', async () => {
    const key = await generateKeyPair('Ed25519')
    const kind: RecordKind = { domain: 'mesh-test', payloadType: new TextEncoder().encode('/mesh/test/1'), maxBytes: 4096 }
    const valid = await sealJson(kind, { a: 1, b: ['x'] }, key)
    const count = iterations(400)
    announce('envelope', baseSeed(), count)
    await forEachCase('openJson', count, async (rand) => {
      const bytes = rand() < 0.2 ? randomBytes(rand, int(rand, 8192)) : mutateBytes(valid, rand)
      const outcome = await withinBudget(async () => openJson(kind, bytes), 'openJson')
      if (!outcome.ok) assertClearError(outcome.error, 'openJson', ['InvalidEnvelopeError'])
    })
  })

  // regression: the claimed peer id was put in the refusal verbatim (line breaks, lone surrogates)
  it('heartbeat: a refusal naming a forged peer id stays one line', async () => {
    const key = await generateKeyPair('Ed25519')
    const from = peerIdFromPrivateKey(key)
    const { log, reasons } = captureLogger()
    const topic = (await topics(key, fakePubSub(), log)).find(t => t.name === 'heartbeat')
    assert.ok(topic != null)
    for (const peerId of ['a\nb', '\u2028', '\ud800', 'x'.repeat(128)]) {
      reasons.length = 0
      const advert: Record<string, Json> = { ...(topic.valid(from.toString()) as Record<string, Json>), peerId }
      assert.equal(await topic.validator(from, message('heartbeat', from, await sealed(topic.kind, advert, key))), TopicValidatorResult.Reject)
      assertClearLine(reasons[0], 'heartbeat')
    }
  })

  // found by reading what the fuzzer could reach: an id with a line break passed the schema and the
  // refusal quoted it verbatim (fixed by the results owner in 171790f)
  it('results: a refusal naming a hostile task id stays one line', async () => {
    const key = await generateKeyPair('Ed25519')
    const from = peerIdFromPrivateKey(key)
    const { log, reasons } = captureLogger()
    const topic = (await topics(key, fakePubSub(), log)).find(t => t.name === 'results')
    assert.ok(topic != null)
    const record = { ...(topic.valid(from.toString()) as Record<string, Json>), id: 'a\nforged log line', runner: 'someone-else', dispatcher: 'someone-else' }
    reasons.length = 0
    assert.equal(await topic.validator(from, message('results', from, await sealed(topic.kind, record, key))), TopicValidatorResult.Reject)
    assertClearLine(reasons[0], 'results')
  })

  // the results record decoder belongs to the results owner: its findings are reported, not fixed here
  const TODO: Record<string, string> = {}
  for (const name of ['heartbeat', 'results', 'revocations']) {
    it(`${name}: the topic validator accepts or rejects, never throws, and logs one clear reason`, { todo: TODO[name] }, async () => {
      const key = await generateKeyPair('Ed25519')
      const from = peerIdFromPrivateKey(key)
      const { log, reasons } = captureLogger()
      const topic = (await topics(key, fakePubSub(), log)).find(t => t.name === name)
      assert.ok(topic != null)
      const valid = await sealed(topic.kind, topic.valid(from.toString()), key)
      assert.equal(await topic.validator(from, message(topic.name, from, valid)), TopicValidatorResult.Accept, `${topic.name}: the valid record is refused: ${reasons.at(-1) ?? ''}`)
      const count = iterations(200)
      announce(`gossip ${topic.name}`, baseSeed(), count)
      const seen = { accepted: 0, rejected: 0 }
      await forEachCase(topic.name, count, async (rand) => {
        const data = await input(rand, topic, key, valid)
        reasons.length = 0
        const outcome = await withinBudget(async () => topic.validator(from, message(topic.name, from, data)), topic.name)
        assert.ok(outcome.ok, `${topic.name}: validator threw ${String(outcome.ok ? '' : outcome.error)}`)
        if (outcome.value === TopicValidatorResult.Accept) {
          seen.accepted++
          return
        }
        seen.rejected++
        assert.equal(outcome.value, TopicValidatorResult.Reject)
        assert.equal(reasons.length, 1, `${topic.name}: expected one logged reason, got ${reasons.length}`)
        assertClearLine(reasons[0], `${topic.name} (payload ${await payloadOf(topic.kind, data)})`)
      })
      assert.ok(seen.rejected > 0, `${topic.name}: ${JSON.stringify(seen)}`)
    })
  }
})
