import assert from 'node:assert/strict'
import { before, describe, it } from 'node:test'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { RecordEnvelope } from '@libp2p/peer-record'
import { InvalidEnvelopeError, openJson, sealJson, signaturePayload } from '../../src/protocols/envelope/index.js'
import type { RecordKind } from '../../src/protocols/envelope/index.js'
import type { PrivateKey } from '@libp2p/interface'

const enc = (s: string): Uint8Array => new TextEncoder().encode(s)

const KIND: RecordKind = { domain: 'mesh-test', payloadType: enc('/mesh/test/1.0.0'), maxBytes: 1024 }

/** Seals raw payload bytes with the kind's domain and type, bypassing sealJson's JSON encoding. */
async function sealRaw (kind: RecordKind, payload: Uint8Array, key: PrivateKey): Promise<Uint8Array> {
  const envelope = await RecordEnvelope.seal({ domain: kind.domain, codec: kind.payloadType, marshal: () => payload, equals: () => false }, key)
  return envelope.marshal()
}

function indexOf (haystack: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer
    return i
  }
  return -1
}

/** Asserts an InvalidEnvelopeError whose one-line message names the record kind and matches `problem`. */
async function assertInvalid (promise: Promise<unknown>, problem: RegExp, domain = KIND.domain): Promise<void> {
  await assert.rejects(promise, (err: Error) => {
    assert.ok(err instanceof InvalidEnvelopeError)
    assert.equal(err.name, 'InvalidEnvelopeError')
    assert.ok(err.message.startsWith(`${domain} record`), err.message)
    assert.ok(!err.message.includes('\n'), err.message)
    assert.match(err.message, problem)
    return true
  })
}

describe('signed JSON envelope', () => {
  let key: PrivateKey
  before(async () => { key = await generateKeyPair('Ed25519') })

  it('round-trips a value and names its signer', async () => {
    const value = { v: 1, name: 'node-a', tags: ['xai', 'junos'], nested: { n: 3.5, ok: true, none: null } }
    const opened = await openJson(KIND, await sealJson(KIND, value, key))
    assert.deepEqual(opened.payload, value)
    assert.ok(opened.signer.equals(peerIdFromPrivateKey(key)))
  })

  it('rejects a record sealed for another domain', async () => {
    const bytes = await sealJson({ ...KIND, domain: 'mesh-other' }, { a: 1 }, key)
    await assertInvalid(openJson(KIND, bytes), /rejected/)
  })

  it('rejects a record with another payload type', async () => {
    const bytes = await sealJson({ ...KIND, payloadType: enc('/mesh/other/1.0.0') }, { a: 1 }, key)
    await assertInvalid(openJson(KIND, bytes), /wrong payload type/)
  })

  it('rejects a record whose payload was altered after signing', async () => {
    const bytes = await sealJson(KIND, { msg: 'hello' }, key)
    const at = indexOf(bytes, enc('hello'))
    assert.ok(at > 0)
    const tampered = bytes.slice()
    tampered[at] = 'j'.charCodeAt(0) // still valid JSON: only the signature can tell
    await assertInvalid(openJson(KIND, tampered), /rejected/)
  })

  it('rejects an altered signature', async () => {
    const bytes = await sealJson(KIND, { msg: 'hello' }, key)
    const tampered = bytes.slice()
    const last = tampered.length - 1
    tampered[last] = (tampered[last] ?? 0) ^ 0xff // the signature is the envelope's last field
    await assertInvalid(openJson(KIND, tampered), /rejected/)
  })

  it('refuses an oversize record before decoding it', async () => {
    // garbage of maxBytes + 1: the size is reported, not a decode error
    await assertInvalid(openJson(KIND, new Uint8Array(KIND.maxBytes + 1).fill(0xff)), /1025 bytes, over the 1024 byte limit/)
    // a genuine record just over the limit is refused too
    const big = await sealJson({ ...KIND, maxBytes: 4096 }, { pad: 'x'.repeat(1100) }, key)
    await assertInvalid(openJson(KIND, big), /over the 1024 byte limit/)
  })

  it('refuses to seal a value over the limit', async () => {
    await assertInvalid(sealJson(KIND, { pad: 'x'.repeat(2000) }, key), /over the 1024 byte limit/)
  })

  it('accepts a record of exactly maxBytes', async () => {
    const bytes = await sealJson({ ...KIND, maxBytes: 4096 }, { pad: 'x' }, key)
    const opened = await openJson({ ...KIND, maxBytes: bytes.byteLength }, bytes)
    assert.deepEqual(opened.payload, { pad: 'x' })
  })

  it('rejects a signed payload that is not JSON', async () => {
    await assertInvalid(openJson(KIND, await sealRaw(KIND, enc('not json {'), key)), /payload is not valid JSON/)
  })

  it('rejects a signed payload that is not UTF-8', async () => {
    await assertInvalid(openJson(KIND, await sealRaw(KIND, new Uint8Array([0x22, 0xff, 0xfe, 0x22]), key)), /payload is not valid JSON/)
  })

  it('rejects garbage and empty bytes with an InvalidEnvelopeError', async () => {
    await assertInvalid(openJson(KIND, enc('definitely not a protobuf envelope')), /^mesh-test record rejected: \S/)
    await assertInvalid(openJson(KIND, new Uint8Array(0)), /^mesh-test record rejected: \S/)
    await assertInvalid(openJson(KIND, new Uint8Array(64).fill(0x0a)), /^mesh-test record rejected: \S/)
  })
})

describe('envelope: the cached-key signature check', () => {
  it('signs over the same bytes as @libp2p/peer-record, and refuses a changed signature or payload', async () => {
    const key = await generateKeyPair('Ed25519')
    const kind = { domain: 'mesh-test', payloadType: new TextEncoder().encode('/mesh/test/1'), maxBytes: 4096 }
    const bytes = await sealJson(kind, { hello: 'x'.repeat(300) }, key)
    const env = RecordEnvelope.createFromProtobuf(bytes)
    assert.equal(await key.publicKey.verify(signaturePayload(kind.domain, env.payloadType, env.payload), env.signature), true)
    // twice: the second open uses the cached key object
    for (let i = 0; i < 2; i++) assert.deepEqual((await openJson(kind, bytes)).payload, { hello: 'x'.repeat(300) })
    const other = await generateKeyPair('Ed25519')
    const forged = new RecordEnvelope({ publicKey: key.publicKey, payloadType: env.payloadType, payload: env.payload, signature: await other.sign(signaturePayload(kind.domain, env.payloadType, env.payload)) })
    await assert.rejects(openJson(kind, forged.marshal()), /invalid signature/)
    const altered = new RecordEnvelope({ publicKey: key.publicKey, payloadType: env.payloadType, payload: new TextEncoder().encode('{"hello":"y"}'), signature: env.signature })
    await assert.rejects(openJson(kind, altered.marshal()), /invalid signature/)
    await assert.rejects(openJson({ ...kind, domain: 'mesh-other' }, bytes), /invalid signature/)
  })
})
