import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { generateSwarmKey } from '../../../src/node/swarm-key.js'
import { InviteBook, createInvite, hashSecret, parseInvite } from '../../../src/node/trust/index.js'
import type { Authority, CreateInviteInit } from '../../../src/node/trust/index.js'
import { MapStore, T0, newAuthority, newPeerId, tempDir } from './helpers.js'

const MIN = 60_000

describe('trust: invites', () => {
  let cleanup: () => Promise<void>
  let ca: Authority
  let init: CreateInviteInit
  before(async () => {
    let dir: string
    ({ dir, cleanup } = await tempDir())
    ca = await newAuthority(dir, 'ca')
    const issuer = await newPeerId()
    init = { authority: ca.cert, issuer, addrs: [`/ip4/10.0.0.1/tcp/7420/p2p/${issuer}`], swarmKey: generateSwarmKey(), tags: ['xai'], roles: ['run'], ttlMs: 15 * MIN, now: T0 }
  })
  after(async () => { await cleanup() })

  it('round-trips: the token carries the authority, swarm key, addresses and grant', async () => {
    const { token, secretHash, grant } = createInvite(init)
    assert.match(token, /^mesh1\.[A-Za-z0-9_-]+$/)
    const invite = await parseInvite(token, T0 + MIN)
    assert.deepEqual(invite.authority, ca.cert)
    assert.equal(Buffer.from(invite.swarmKey ?? '', 'base64').toString(), Buffer.from(init.swarmKey ?? []).toString())
    assert.deepEqual(invite.addrs, init.addrs)
    assert.equal(invite.issuer, init.issuer)
    assert.deepEqual({ tags: invite.tags, roles: invite.roles, expiresAt: invite.expiresAt }, grant)
    assert.equal(grant.expiresAt, new Date(T0 + 15 * MIN).toISOString())
    assert.equal(hashSecret(invite.secret), secretHash)
    assert.ok(!token.includes(secretHash), 'the token holds the secret, the issuer its hash')
  })

  it('refuses an expired or malformed token with a clear line', async () => {
    const { token } = createInvite(init)
    await assert.rejects(parseInvite(token, T0 + 15 * MIN), { name: 'InvalidInviteError', message: `invite expired at ${new Date(T0 + 15 * MIN).toISOString()}` })
    await assert.rejects(parseInvite('hello'), /^InvalidInviteError: not a mesh invite token/)
    await assert.rejects(parseInvite(token.slice(0, -10)), /not a mesh invite token \(damaged/)
    const payload = JSON.parse(Buffer.from(token.slice(6), 'base64url').toString()) as Record<string, unknown>
    const forge = (over: Record<string, unknown>): string => 'mesh1.' + Buffer.from(JSON.stringify({ ...payload, ...over })).toString('base64url')
    await assert.rejects(parseInvite(forge({ roles: ['root'] })), /not a valid mesh invite token: roles\[0\] 'root' is not a role/)
    await assert.rejects(parseInvite(forge({ authority: { ...ca.cert, name: 'evil' } })), /authority: bad self-signature/)
    await assert.rejects(parseInvite(forge({ addrs: ['/ip4/10.0.0.9/tcp/1/p2p/' + await newPeerId()] })), /not an address of the issuer/)
  })

  it('the issuer grants once: used twice and expired are refused', async () => {
    const { token, secretHash, grant } = createInvite(init)
    const book = new InviteBook(new MapStore())
    await book.add(secretHash, grant)
    const { secret } = await parseInvite(token)
    const joiner = await newPeerId()
    assert.deepEqual(await book.redeem(secret, joiner, T0 + MIN), { ok: true, grant })
    assert.deepEqual(await book.redeem(secret, await newPeerId(), T0 + MIN), { ok: false, reason: 'invite already used' })
    // the same peer may ask again (its first answer may have been lost), until expiry
    assert.deepEqual(await book.redeem(secret, joiner, T0 + 2 * MIN), { ok: true, grant })
    assert.deepEqual(await book.redeem(secret, joiner, T0 + 15 * MIN), { ok: false, reason: `invite expired at ${grant.expiresAt}` })

    const late = createInvite(init)
    await book.add(late.secretHash, late.grant)
    const lateSecret = (await parseInvite(late.token)).secret
    assert.deepEqual(await book.redeem(lateSecret, joiner, T0 + 16 * MIN), { ok: false, reason: `invite expired at ${late.grant.expiresAt}` })
    assert.match((await book.redeem('A'.repeat(43), joiner, T0)).ok ? '' : 'unknown invite', /unknown invite/)
    assert.equal(await book.prune(T0 + 16 * MIN), 2)
  })

  it('two peers racing for one secret: one wins', async () => {
    const { token, secretHash, grant } = createInvite(init)
    const book = new InviteBook(new MapStore())
    await book.add(secretHash, grant)
    const { secret } = await parseInvite(token)
    const results = await Promise.all([book.redeem(secret, await newPeerId(), T0), book.redeem(secret, await newPeerId(), T0)])
    assert.deepEqual(results.map(r => r.ok).sort(), [false, true])
  })
})
