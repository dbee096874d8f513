import assert from 'node:assert/strict'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import {
  hasRole, issueCertificate, readCertificateFile, revoke, unallowedTags, verifyCertificate, writeCertificateFile
} from '../../../src/node/trust/index.js'
import type { Authority, Verdict, NodeCertificate } from '../../../src/node/trust/index.js'
import { DAY, T0, newAuthority, newPeerId, tempDir } from './helpers.js'

function reason (v: Verdict<{ cert: NodeCertificate }>): string {
  assert.equal(v.ok, false, 'expected a refusal')
  return v.ok ? '' : v.reason
}

describe('trust: node certificates', () => {
  let dir: string
  let cleanup: () => Promise<void>
  let ca: Authority
  let other: Authority
  let peer: string
  let cert: Uint8Array
  before(async () => {
    ({ dir, cleanup } = await tempDir())
    ca = await newAuthority(dir, 'ca')
    other = await newAuthority(dir, 'other')
    peer = await newPeerId()
    cert = await issueCertificate(ca, { peerId: peer, name: 'node-1', tags: ['xai', 'junos'], roles: ['run', 'dispatch'], ttlMs: 90 * DAY, now: T0 })
  })
  after(async () => { await cleanup() })

  it('verifies: the fields say who the peer is and what it may do', async () => {
    const v = await verifyCertificate(cert, { authorities: [ca.cert], peerId: peer, now: T0 + DAY })
    assert.ok(v.ok)
    assert.equal(v.cert.peerId, peer)
    assert.equal(v.cert.name, 'node-1')
    assert.deepEqual(v.cert.tags, ['junos', 'xai'])
    assert.deepEqual(v.cert.roles, ['dispatch', 'run'])
    assert.equal(v.cert.issuer, ca.cert.id)
    assert.equal(v.cert.notAfter, new Date(T0 + 90 * DAY).toISOString())
    assert.match(v.cert.serial, /^[0-9a-f]{32}$/)
    assert.ok(hasRole(v.cert, 'dispatch'))
    assert.ok(!hasRole(v.cert, 'admin'))
    assert.deepEqual(unallowedTags(v.cert, ['xai', 'gpu']), ['gpu'])
  })

  it('refuses a certificate from another authority', async () => {
    assert.match(reason(await verifyCertificate(cert, { authorities: [other.cert], now: T0 })), /^certificate is from an unknown authority \(/)
  })

  it('accepts certificates of either trusted authority (rotation)', async () => {
    const fromOther = await issueCertificate(other, { peerId: peer, name: 'node-1', tags: [], roles: ['run'], ttlMs: DAY, now: T0 })
    for (const bytes of [cert, fromOther]) {
      assert.ok((await verifyCertificate(bytes, { authorities: [ca.cert, other.cert], peerId: peer, now: T0 + 1 })).ok)
    }
  })

  it('refuses an expired certificate, and one not yet valid', async () => {
    const end = new Date(T0 + 90 * DAY).toISOString()
    assert.equal(reason(await verifyCertificate(cert, { authorities: [ca.cert], now: T0 + 90 * DAY })), `certificate expired at ${end}`)
    assert.equal(reason(await verifyCertificate(cert, { authorities: [ca.cert], now: T0 - 3_600_000 })), `certificate is not yet valid (valid from ${new Date(T0).toISOString()})`)
    // a little clock skew is tolerated
    assert.ok((await verifyCertificate(cert, { authorities: [ca.cert], now: T0 - 30_000 })).ok)
  })

  it('refuses a certificate presented by another peer', async () => {
    const stranger = await newPeerId()
    assert.equal(reason(await verifyCertificate(cert, { authorities: [ca.cert], peerId: stranger, now: T0 })), `certificate is for peer ${peer}, not ${stranger}`)
  })

  it('refuses a revoked peer and a revoked serial', async () => {
    const opened = await verifyCertificate(cert, { authorities: [ca.cert], now: T0 })
    assert.ok(opened.ok)
    const byPeer = await revoke(ca, undefined, { peerId: peer }, T0 + 5)
    assert.equal(reason(await verifyCertificate(cert, { authorities: [ca.cert], now: T0 + 10, revocations: byPeer.list })), `peer ${peer} is revoked (since ${new Date(T0 + 5).toISOString()})`)
    const bySerial = await revoke(ca, undefined, { serial: opened.cert.serial }, T0 + 5)
    assert.match(reason(await verifyCertificate(cert, { authorities: [ca.cert], now: T0 + 10, revocations: [bySerial.list] })), new RegExp(`^certificate serial ${opened.cert.serial} is revoked`))
    const unrelated = await revoke(ca, undefined, { peerId: await newPeerId() }, T0)
    assert.ok((await verifyCertificate(cert, { authorities: [ca.cert], now: T0 + 10, revocations: [unrelated.list] })).ok)
  })

  it('refuses a certificate with any byte changed', async () => {
    const name = Buffer.from(cert).indexOf('node-1')
    assert.ok(name > 0)
    const tampered = Uint8Array.from(cert)
    tampered[name + 5] = '9'.charCodeAt(0)
    assert.equal(reason(await verifyCertificate(tampered, { authorities: [ca.cert], now: T0 })), 'certificate has a bad signature')
    for (let i = 0; i < cert.byteLength; i++) {
      const copy = Uint8Array.from(cert)
      copy[i] = (copy[i] ?? 0) ^ 0x01
      const v = await verifyCertificate(copy, { authorities: [ca.cert], now: T0 })
      assert.equal(v.ok, false, `flipping byte ${i} was not noticed`)
    }
    assert.match(reason(await verifyCertificate(new Uint8Array([1, 2, 3]), { authorities: [ca.cert], now: T0 })), /^not a certificate/)
  })

  it('issue refuses bad input with a clear line', async () => {
    await assert.rejects(issueCertificate(ca, { peerId: 'nope', name: 'x', tags: [], roles: ['run'], ttlMs: DAY }), /cannot issue certificate: peerId: 'nope' is not a peer id/)
    await assert.rejects(issueCertificate(ca, { peerId: peer, name: 'x', tags: ['bad tag'], roles: ['run'], ttlMs: DAY }), /cannot issue certificate: tags\[0\] 'bad tag'/)
    await assert.rejects(issueCertificate(ca, { peerId: peer, name: 'x', tags: [], roles: ['run'], ttlMs: 0 }), /validity must be longer than 0/)
  })

  it('round-trips through an armored .crt file', async () => {
    const path = join(dir, 'node.crt')
    await writeCertificateFile(path, cert)
    assert.deepEqual(await readCertificateFile(path), cert)
    await writeFile(path, 'garbage')
    await assert.rejects(readCertificateFile(path), /node\.crt: not a mesh node certificate \(expected a '-----BEGIN MESH NODE CERTIFICATE-----' line\)/)
  })
})
