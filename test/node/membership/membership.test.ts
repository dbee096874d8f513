/**
 * One layer: authority membership and signed offers, on real keys, certificates and a real level
 * database on disk (the replay guard must survive a restart).
 */
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { Level } from 'level'
import { AuthorityMembership } from '../../../src/node/membership/authority.js'
import { offerAuth } from '../../../src/node/membership/offer-auth.js'
import { silentLogger } from '../../../src/node/logger.js'
import { levelRecordDb } from '../../../src/node/store/task-records.js'
import { createAuthority, issueCertificate } from '../../../src/node/trust/index.js'
import type { Advert } from '../../../src/protocols/heartbeat/index.js'
import type { TaskOffer } from '../../../src/protocols/push/index.js'

const dirs: string[] = []
async function tmp (): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'mesh-membership-'))
  dirs.push(d)
  return d
}
after(async () => { await Promise.all(dirs.map(async d => rm(d, { recursive: true, force: true }))) })

function offer (id: string): TaskOffer {
  return {
    v: 1, id, group: id, attempt: 1, dispatcher: 'x', submittedAt: new Date().toISOString(), name: 't', command: ['true'],
    shell: false, env: {}, cwd: null, tags: [], resources: { cores: 1, memoryMB: 0, gpus: 0, numa: 'any' }, timeoutSec: 60, files: []
  }
}

describe('signed offers', () => {
  it('accepts a genuine offer once; refuses forged, altered, expired and replayed ones (also after a restart)', async () => {
    const key = await generateKeyPair('Ed25519')
    const other = await generateKeyPair('Ed25519')
    const me = peerIdFromPrivateKey(key).toString()
    const path = join(await tmp(), 'db')
    let db = new Level<string, string>(path)
    let auth = offerAuth({ privateKey: key, seen: levelRecordDb(db.sublevel<string, string>('seen', {})) })
    const body = new TextEncoder().encode(JSON.stringify(offer('t1')))
    const frame = await auth.sign(body, offer('t1'))
    assert.equal(await auth.verify(body, frame, me), null)
    assert.match(await auth.verify(body, frame, me) ?? '', /already received/)

    // replay after a restart: a new guard over the same database on disk
    await db.close()
    db = new Level<string, string>(path)
    auth = offerAuth({ privateKey: key, seen: levelRecordDb(db.sublevel<string, string>('seen', {})) })
    assert.match(await auth.verify(body, frame, me) ?? '', /already received/)

    const altered = new TextEncoder().encode(JSON.stringify({ ...offer('t1'), command: ['rm', '-rf', '/'] }))
    const f2 = await auth.sign(new TextEncoder().encode(JSON.stringify(offer('t2'))), offer('t2'))
    assert.match(await auth.verify(altered, f2, me) ?? '', /does not match its signature/)

    const forgedBy = offerAuth({ privateKey: other, seen: levelRecordDb(db.sublevel<string, string>('x', {})) })
    const forged = await forgedBy.sign(body, offer('t3'))
    assert.match(await auth.verify(body, forged, me) ?? '', /was signed by/)
    assert.match(await auth.verify(body, { auth: '', cert: null }, me) ?? '', /not signed/)

    const past = offerAuth({ privateKey: key, seen: levelRecordDb(db.sublevel<string, string>('y', {})), now: () => Date.now() - 3_600_000 })
    const old = await past.sign(body, offer('t4'))
    assert.match(await auth.verify(body, old, me) ?? '', /expired at/)
    await db.close()
  })
})

describe('authority membership', () => {
  it('narrows advertised tags to the certificate and refuses a certificate for another peer', async () => {
    const authority = await createAuthority(join(await tmp(), 'ca'))
    const selfKey = await generateKeyPair('Ed25519')
    const peerKey = await generateKeyPair('Ed25519')
    const self = peerIdFromPrivateKey(selfKey).toString()
    const peer = peerIdFromPrivateKey(peerKey).toString()
    const ownCert = await issueCertificate(authority, { peerId: self, name: 'me', tags: ['xai'], roles: ['run', 'dispatch'], ttlMs: 3_600_000 })
    const peerCert = await issueCertificate(authority, { peerId: peer, name: 'p', tags: ['xai'], roles: ['run'], ttlMs: 3_600_000 })
    const m = new AuthorityMembership({ self, authorities: [authority.cert], ownCert, log: silentLogger(), hangUp: async () => {}, saveRevocations: async () => {} })
    const advert = { peerId: peer, tags: ['gpu', 'xai'], cert: Buffer.from(peerCert).toString('base64') } as unknown as Advert
    assert.equal(await m.admit(advert), null)
    assert.deepEqual(advert.tags, ['xai'])
    assert.equal(m.isMember(peer), null)
    const impostor = { peerId: self, tags: [], cert: Buffer.from(peerCert).toString('base64') } as unknown as Advert
    assert.match(await m.admit(impostor) ?? '', /certificate is for peer/)
    assert.match(await m.checkDispatcher(Buffer.from(peerCert).toString('base64'), peer) ?? '', /lacks the dispatch role/)
  })
})
