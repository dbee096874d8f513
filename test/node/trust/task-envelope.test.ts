import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { RecordEnvelope } from '@libp2p/peer-record'
import { ReplayGuard, signTask, verifyTask } from '../../../src/node/trust/index.js'
import { MapStore, T0 } from './helpers.js'

const body = new TextEncoder().encode('{"command":["echo","hi"]}')
const MIN = 60_000

describe('trust: signed tasks', () => {
  it('verifies signature, signer and body; returns the claim', async () => {
    const key = await generateKeyPair('Ed25519')
    const signer = peerIdFromPrivateKey(key).toString()
    const bytes = await signTask(key, { taskId: 't-1', body, issuedAt: T0, expiresAt: T0 + 10 * MIN })
    const v = await verifyTask(bytes, { body, now: T0 + MIN, signer })
    assert.deepEqual(v, { ok: true, signer, taskId: 't-1', issuedAt: T0, expiresAt: T0 + 10 * MIN })
  })

  it('refuses a forged signature, another signer, a refused role', async () => {
    const key = await generateKeyPair('Ed25519')
    const forger = await generateKeyPair('Ed25519')
    const bytes = await signTask(key, { taskId: 't-2', body, issuedAt: T0, expiresAt: T0 + MIN })
    // the forger takes the signed claim and signs it as if the dispatcher had
    const env = RecordEnvelope.createFromProtobuf(bytes)
    const forged = new RecordEnvelope({ publicKey: key.publicKey, payloadType: env.payloadType, payload: env.payload, signature: await forger.sign(env.payload) }).marshal()
    assert.deepEqual(await verifyTask(forged, { body, now: T0 }), { ok: false, reason: 'task envelope has a bad signature' })

    const expected = peerIdFromPrivateKey(forger).toString()
    const other = await verifyTask(bytes, { body, now: T0, signer: expected })
    assert.equal(other.ok ? '' : other.reason, `task t-2 was signed by ${peerIdFromPrivateKey(key).toString()}, not by ${expected}`)

    let looked = false
    const role = await verifyTask(bytes, { body, now: T0, authorise: s => { looked = true; return `peer ${s} may not dispatch` } })
    assert.ok(looked)
    assert.match(role.ok ? '' : role.reason, /may not dispatch$/)
  })

  it('refuses an altered body and an expired task', async () => {
    const key = await generateKeyPair('Ed25519')
    const bytes = await signTask(key, { taskId: 't-3', body, issuedAt: T0, expiresAt: T0 + MIN })
    const altered = new TextEncoder().encode('{"command":["rm","-rf","/"]}')
    assert.deepEqual(await verifyTask(bytes, { body: altered, now: T0 }), { ok: false, reason: 'task body does not match its signature (task t-3)' })
    assert.deepEqual(await verifyTask(bytes, { body, now: T0 + MIN }), { ok: false, reason: `task t-3 expired at ${new Date(T0 + MIN).toISOString()}` })
    const future = await signTask(key, { taskId: 't-4', body, issuedAt: T0 + 10 * MIN, expiresAt: T0 + 20 * MIN })
    const early = await verifyTask(future, { body, now: T0 })
    assert.match(early.ok ? '' : early.reason, /^task t-4 was issued in the future/)
  })
})

describe('trust: replay guard', () => {
  it('refuses a task id seen before, also after a restart on the same store', async () => {
    const store = new MapStore()
    const guard = new ReplayGuard(store)
    assert.deepEqual(await guard.admit('t-1', T0 + MIN, T0), { ok: true })
    assert.deepEqual(await guard.admit('t-1', T0 + MIN, T0 + 1), { ok: false, reason: 'task t-1 was already received (replay)' })
    const restarted = new ReplayGuard(store)
    assert.deepEqual(await restarted.admit('t-1', T0 + MIN, T0 + 2), { ok: false, reason: 'task t-1 was already received (replay)' })
    assert.ok(await restarted.seen('t-1', T0 + 2))
    assert.equal((await restarted.admit('t-0', T0, T0 + 2)).ok, false, 'an expired task is not admitted')
  })

  it('admits only one of two copies arriving together', async () => {
    const guard = new ReplayGuard(new MapStore())
    const results = await Promise.all([guard.admit('t-9', T0 + MIN, T0), guard.admit('t-9', T0 + MIN, T0)])
    assert.deepEqual(results.map(r => r.ok).sort(), [false, true])
  })

  it('prunes expired ids (explicitly, and every N admissions)', async () => {
    const store = new MapStore()
    const guard = new ReplayGuard(store, { pruneEvery: 3 })
    await guard.admit('a', T0 + MIN, T0)
    await guard.admit('b', T0 + 5 * MIN, T0)
    store.map.set('junk', 'not a number')
    assert.equal(await guard.prune(T0 + 2 * MIN), 2)
    assert.deepEqual([...store.map.keys()], ['b'])
    await guard.admit('c', T0 + 20 * MIN, T0 + 6 * MIN)
    await guard.admit('d', T0 + 20 * MIN, T0 + 6 * MIN)
    // the third admission since start pruned 'b' (expired at +5 min)
    assert.deepEqual([...store.map.keys()].sort(), ['c', 'd'])
  })
})
