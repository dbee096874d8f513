import assert from 'node:assert/strict'
import { chmod, readFile, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { createAuthority, loadAuthority, loadAuthorityCert } from '../../../src/node/trust/index.js'
import { T0, tempDir } from './helpers.js'

describe('trust: authority', () => {
  let dir: string
  let cleanup: () => Promise<void>
  before(async () => { ({ dir, cleanup } = await tempDir()) })
  after(async () => { await cleanup() })

  it('writes ca.key (0600) and a self-signed ca.crt, and loads them back', async () => {
    const ca = join(dir, 'ca')
    const created = await createAuthority(ca, { name: 'lab', now: T0 })
    assert.equal((await stat(join(ca, 'ca.key'))).mode & 0o777, 0o600)
    const cert = JSON.parse(await readFile(join(ca, 'ca.crt'), 'utf8')) as Record<string, unknown>
    assert.deepEqual(Object.keys(cert).sort(), ['createdAt', 'id', 'kind', 'name', 'publicKey', 'signature', 'v'])
    assert.equal(cert.kind, 'mesh-authority')
    assert.equal(cert.id, created.cert.id)
    assert.equal(cert.createdAt, new Date(T0).toISOString())
    const loaded = await loadAuthority(ca)
    assert.deepEqual(loaded.cert, created.cert)
    assert.ok(loaded.key.publicKey.equals(created.key.publicKey))
    assert.deepEqual(await loadAuthorityCert(join(ca, 'ca.crt')), created.cert)
  })

  it('refuses to overwrite an authority', async () => {
    const ca = join(dir, 'twice')
    await createAuthority(ca)
    await assert.rejects(createAuthority(ca), /ca\.key already exists; refusing to overwrite a mesh authority/)
  })

  it('says clearly when the folder has no authority, or a file is corrupt or of another kind', async () => {
    await assert.rejects(loadAuthority(join(dir, 'nothing')), /no mesh authority here \(create one with: mesh ca init --ca /)
    await assert.rejects(loadAuthorityCert(join(dir, 'nothing.crt')), /nothing\.crt: no such file/)
    const bad = join(dir, 'bad.crt')
    await writeFile(bad, 'hello')
    await assert.rejects(loadAuthorityCert(bad), /bad\.crt: not a mesh authority certificate \(not JSON\)/)
    const ca = join(dir, 'kinds')
    const { cert } = await createAuthority(ca)
    await writeFile(bad, JSON.stringify({ ...cert, kind: 'mesh-node-cert' }))
    await assert.rejects(loadAuthorityCert(bad), /not a valid mesh authority certificate: kind is "mesh-node-cert", expected 'mesh-authority'/)
    await writeFile(bad, JSON.stringify({ ...cert, name: 'renamed' }))
    await assert.rejects(loadAuthorityCert(bad), /bad self-signature/)
  })

  it('refuses a key file others can read, and a key that does not match ca.crt', async () => {
    const a = join(dir, 'perm')
    await createAuthority(a)
    await chmod(join(a, 'ca.key'), 0o644)
    await assert.rejects(loadAuthority(a), /permissions 0644 are too open; run chmod 600/)
    await chmod(join(a, 'ca.key'), 0o600)
    const b = join(dir, 'other')
    await createAuthority(b)
    await writeFile(join(a, 'ca.crt'), await readFile(join(b, 'ca.crt')))
    await assert.rejects(loadAuthority(a), /does not match ca\.crt/)
  })
})
