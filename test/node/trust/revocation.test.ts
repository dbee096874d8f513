import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { isRevoked, newer, revoke, revokeInDir, loadRevocations, verifyRevocations } from '../../../src/node/trust/index.js'
import type { Authority } from '../../../src/node/trust/index.js'
import { T0, newAuthority, newPeerId, tempDir } from './helpers.js'
import { join } from 'node:path'

describe('trust: revocation lists', () => {
  let dir: string
  let cleanup: () => Promise<void>
  let ca: Authority
  let other: Authority
  before(async () => {
    ({ dir, cleanup } = await tempDir())
    ca = await newAuthority(dir, 'ca')
    other = await newAuthority(dir, 'other')
  })
  after(async () => { await cleanup() })

  it('each revoke adds one entry and raises the version by one; the signed list verifies', async () => {
    const a = await newPeerId()
    const serial = 'ab'.repeat(16)
    const v1 = await revoke(ca, undefined, { peerId: a }, T0)
    const v2 = await revoke(ca, v1.list, { serial }, T0 + 1)
    assert.equal(v1.list.version, 1)
    assert.equal(v2.list.version, 2)
    assert.deepEqual(v2.list.revoked, [{ peerId: a, at: new Date(T0).toISOString() }, { serial, at: new Date(T0 + 1).toISOString() }])
    const verified = await verifyRevocations(v2.bytes, [other.cert, ca.cert])
    assert.ok(verified.ok)
    assert.deepEqual(verified.list, v2.list)
    assert.equal(isRevoked(v2.list, { peerId: a, serial: 'x' })?.peerId, a)
    assert.equal(isRevoked(v2.list, { peerId: 'y', serial })?.serial, serial)
    assert.equal(isRevoked(v2.list, { peerId: 'y', serial: 'x' }), undefined)
    await assert.rejects(revoke(ca, v2.list, { peerId: a }), /peer .* is already revoked \(list version 2\)/)
    await assert.rejects(revoke(other, v2.list, { peerId: a }), /current revocation list is from authority/)
  })

  it('keeps the newest version: older and equal versions are refused', async () => {
    const v1 = await revoke(ca, undefined, { peerId: await newPeerId() }, T0)
    const v2 = await revoke(ca, v1.list, { peerId: await newPeerId() }, T0)
    assert.ok(newer(undefined, v1.list).ok)
    assert.ok(newer(v1.list, v2.list).ok)
    assert.deepEqual(newer(v2.list, v1.list), { ok: false, reason: 'revocation list version 1 is older than the held version 2' })
    assert.deepEqual(newer(v2.list, v2.list), { ok: false, reason: 'revocation list version 2 is already held' })
    const foreign = await revoke(other, undefined, { peerId: await newPeerId() }, T0)
    assert.equal(newer(v1.list, foreign.list).ok, false)
  })

  it('refuses a list from an unknown authority, or altered', async () => {
    const { bytes } = await revoke(ca, undefined, { peerId: await newPeerId() }, T0)
    const unknown = await verifyRevocations(bytes, [other.cert])
    assert.equal(unknown.ok, false)
    assert.match(unknown.ok ? '' : unknown.reason, /^revocation list is from an unknown authority/)
    const tampered = Uint8Array.from(bytes)
    const at = Buffer.from(bytes).indexOf('"version":1')
    tampered[at + 10] = '9'.charCodeAt(0)
    assert.deepEqual(await verifyRevocations(tampered, [ca.cert]), { ok: false, reason: 'revocation list has a bad signature' })
  })

  it('revokeInDir writes DIR/revocations.crl, version after version', async () => {
    const caDir = join(dir, 'ca')
    const first = await revokeInDir(caDir, { peerId: await newPeerId() }, T0)
    const second = await revokeInDir(caDir, { serial: 'cd'.repeat(16) }, T0)
    assert.equal(first.path, join(caDir, 'revocations.crl'))
    assert.equal(second.list.version, first.list.version + 1)
    const loaded = await loadRevocations(second.path, [ca.cert])
    assert.deepEqual(loaded?.list, second.list)
    assert.equal(await loadRevocations(join(dir, 'none.crl'), [ca.cert]), undefined)
    await assert.rejects(loadRevocations(second.path, [other.cert]), /revocations\.crl: revocation list is from an unknown authority/)
  })
})
