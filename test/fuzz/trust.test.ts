/**
 * The trust layer's decoders: node certificates, revocation lists, signed task claims, invite
 * tokens, armored files and authority certificates. Inputs are random bytes, mutated records and
 * records correctly signed by the trusted authority around mutated payloads (the only way to
 * reach the field checks). Every refusal is a verdict or a thrown error of one clear line.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { sealJson } from '../../src/protocols/envelope/index.js'
import {
  NODE_CERT_KIND, REVOCATIONS_KIND, TASK_KIND, createInvite, dearmor, issueCertificate, openCertificate, parseAuthorityCert, parseInvite,
  revoke, signTask, verifyRevocations, verifyTask
} from '../../src/node/trust/index.js'
import { DAY, T0, newAuthority, newPeerId, tempDir } from '../node/trust/helpers.js'
import { announce, assertClearError, assertClearLine, withinBudget } from './lib/oracle.js'
import { mutateBytes, mutateJson, mutateText, mutatedJsonText } from './lib/mutate.js'
import { baseSeed, forEachCase, int, iterations, randomBytes } from './lib/rand.js'
import type { Rand } from './lib/rand.js'
import type { Json } from './lib/mutate.js'
import type { RecordKind } from '../../src/protocols/envelope/index.js'
import type { Authority, Verdict } from '../../src/node/trust/index.js'

const COUNT = 150

let authority: Authority
let cleanup: () => Promise<void>
let peer: string

before(async () => {
  const t = await tempDir()
  cleanup = t.cleanup
  authority = await newAuthority(t.dir, 'ca')
  peer = await newPeerId()
})
after(async () => { await cleanup() })

/** A record as the fuzzer sends it: garbage, a mutated valid one, or a validly signed mutated payload. */
async function candidate (rand: Rand, kind: RecordKind, valid: Uint8Array, payload: Json): Promise<Uint8Array> {
  switch (int(rand, 4)) {
    case 0: return randomBytes(rand, int(rand, 600))
    case 1: return mutateBytes(valid, rand)
    default: return sealJson({ ...kind, maxBytes: 10 * 1024 * 1024 }, mutateJson(payload, rand), authority.key)
  }
}

function checkVerdict (v: Verdict<object>, context: string): void {
  if (!v.ok) assertClearLine(v.reason, context)
}

async function fuzzVerdicts (name: string, kind: RecordKind, valid: Uint8Array, payload: Json, open: (bytes: Uint8Array) => Promise<Verdict<object>>): Promise<void> {
  assert.ok((await open(valid)).ok, `${name}: the valid record is refused`)
  const count = iterations(COUNT)
  announce(name, baseSeed(), count)
  const seen = { ok: 0, refused: 0 }
  await forEachCase(name, count, async (rand) => {
    const bytes = await candidate(rand, kind, valid, payload)
    const outcome = await withinBudget(async () => open(bytes), name)
    assert.ok(outcome.ok, `${name} threw instead of refusing: ${String(outcome.ok ? '' : outcome.error)}`)
    seen[outcome.value.ok ? 'ok' : 'refused']++
    checkVerdict(outcome.value, name)
  })
  assert.ok(seen.refused > 0, JSON.stringify(seen))
}

describe('fuzz: trust decoders', () => {
  it('node certificates', async () => {
    const valid = await issueCertificate(authority, { peerId: peer, name: 'lab2', tags: ['xai'], roles: ['run'], ttlMs: DAY, now: T0 })
    const payload: Json = {
      v: 1, kind: 'mesh-node-cert', serial: 'a'.repeat(32), peerId: peer, name: 'lab2', tags: ['xai'], roles: ['run'],
      issuer: authority.cert.id, notBefore: new Date(T0).toISOString(), notAfter: new Date(T0 + DAY).toISOString()
    }
    await fuzzVerdicts('certificate', NODE_CERT_KIND, valid, payload, async b => openCertificate(b, [authority.cert]))
  })

  it('revocation lists', async () => {
    const { bytes, list } = await revoke(authority, undefined, { peerId: peer }, T0)
    await fuzzVerdicts('revocations', REVOCATIONS_KIND, bytes, list as unknown as Json, async b => verifyRevocations(b, [authority.cert]))
  })

  it('signed task claims', async () => {
    const body = new TextEncoder().encode('{"task":1}')
    const valid = await signTask(authority.key, { taskId: 't1.1.abc', body, issuedAt: T0, expiresAt: T0 + 60_000 })
    const payload: Json = { v: 1, kind: 'mesh-task', taskId: 't1.1.abc', bodyHash: 'b'.repeat(64), issuedAt: new Date(T0).toISOString(), expiresAt: new Date(T0 + 60_000).toISOString() }
    await fuzzVerdicts('task claim', TASK_KIND, valid, payload, async b => verifyTask(b, { body, now: T0 + 1000 }))
  })

  it('invite tokens', async () => {
    const { token, invite } = createInvite({
      authority: authority.cert, issuer: peer, addrs: [`/ip4/10.0.0.1/tcp/7420/p2p/${peer}`], swarmKey: null, tags: ['xai'], roles: ['run'], ttlMs: DAY, now: T0
    })
    await parseInvite(token)
    const count = iterations(COUNT)
    announce('invite', baseSeed(), count)
    await forEachCase('invite', count, async (rand) => {
      const r = rand()
      const text = r < 0.3
        ? mutateText(token, rand)
        : `mesh1.${Buffer.from(r < 0.5 ? mutateText(JSON.stringify(invite), rand) : mutatedJsonText(invite as unknown as Json, rand)).toString('base64url')}`
      const outcome = await withinBudget(async () => parseInvite(text, T0), 'parseInvite')
      if (!outcome.ok) assertClearError(outcome.error, 'parseInvite', ['InvalidInviteError'])
    })
  })

  it('authority certificates', async () => {
    const valid = authority.cert as unknown as Json
    const count = iterations(COUNT)
    announce('authority cert', baseSeed(), count)
    await forEachCase('authority cert', count, async (rand) => {
      let value: unknown
      try { value = JSON.parse(mutatedJsonText(valid, rand)) } catch { return }
      const outcome = await withinBudget(async () => parseAuthorityCert(value), 'parseAuthorityCert')
      if (!outcome.ok) assertClearError(outcome.error, 'parseAuthorityCert', ['MalformedError'])
    })
  })

  it('armored text', async () => {
    const label = 'MESH NODE CERTIFICATE'
    const valid = `-----BEGIN ${label}-----\n${Buffer.from(randomBytes(Math.random, 100)).toString('base64')}\n-----END ${label}-----\n`
    const count = iterations(COUNT)
    announce('armor', baseSeed(), count)
    await forEachCase('armor', count, async (rand) => {
      const outcome = await withinBudget(() => dearmor(label, mutateText(valid, rand)), 'dearmor')
      assert.ok(outcome.ok)
      if (typeof outcome.value === 'string') assertClearLine(outcome.value, 'dearmor')
    })
  })

  // regression: a self-signature of the wrong length made Ed25519 verify throw a TypeError, which
  // reached `mesh join` as an internal error with a stack instead of "bad self-signature"
  it('an authority certificate with a short signature is malformed, not a crash', async () => {
    await assert.rejects(parseAuthorityCert({ ...authority.cert, signature: 'AAAA' }), { name: 'MalformedError', message: 'bad self-signature' })
  })

  // regression: field values were quoted verbatim, so a line break in a signed field split the reason
  it('a refusal quoting a hostile field value stays one line', async () => {
    const payload = { v: 1, kind: 'mesh-task', taskId: 't1', bodyHash: 'b'.repeat(64), issuedAt: 'line\nbreak', expiresAt: '\u2028' }
    const verdict = await verifyTask(await sealJson({ ...TASK_KIND, maxBytes: 1e6 }, payload, authority.key), { body: new Uint8Array(0), now: T0 })
    assert.equal(verdict.ok, false)
    if (!verdict.ok) {
      assertClearLine(verdict.reason, 'verifyTask')
      assert.equal(verdict.reason, 'task envelope is malformed: issuedAt "line\\nbreak" is not an ISO time')
    }
    await assert.rejects(parseAuthorityCert({ ...authority.cert, ['x'.repeat(5000)]: 1 }), (err: Error) => { assertClearError(err, 'unexpected field'); return true })
  })

  // regression (found with MESH_FUZZ_ITERATIONS=3000, case seed 37901552): a revocation entry's
  // peer id had no length check before base58 decoding, which is quadratic: 70,000 characters
  // held the event loop for 24 s
  it('a huge peer id is refused without decoding it', async () => {
    const list = { v: 1, kind: 'mesh-revocations', issuer: authority.cert.id, version: 1, revoked: [{ peerId: '1'.repeat(70_000), at: new Date(T0).toISOString() }], issuedAt: new Date(T0).toISOString() }
    const started = Date.now()
    const verdict = await verifyRevocations(await sealJson({ ...REVOCATIONS_KIND, maxBytes: 1e7 }, list, authority.key), [authority.cert])
    assert.ok(Date.now() - started < 1000, `took ${Date.now() - started} ms`)
    assert.equal(verdict.ok, false)
  })
})
