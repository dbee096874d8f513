import assert from 'node:assert/strict'
import { readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { run } from '../../../src/cli/program.js'
import { loadAuthorityCert, loadRevocations, readCertificateFile, verifyCertificate } from '../../../src/node/trust/index.js'
import type { Output } from '../../../src/cli/io.js'
import { newPeerId, tempDir } from './helpers.js'

async function mesh (...argv: string[]): Promise<{ code: number, out: string, err: string }> {
  const stdout: string[] = []
  const stderr: string[] = []
  const io: Output = {
    out: s => { stdout.push(s.endsWith('\n') ? s : s + '\n') },
    err: s => { stderr.push(s.endsWith('\n') ? s : s + '\n') },
    write: (stream, data) => { (stream === 'stdout' ? stdout : stderr).push(Buffer.from(data).toString()) }
  }
  const code = await run(argv, io)
  return { code, out: stdout.join(''), err: stderr.join('') }
}

describe('mesh ca (in process)', () => {
  let dir: string
  let cleanup: () => Promise<void>
  let ca: string
  before(async () => {
    ({ dir, cleanup } = await tempDir())
    ca = join(dir, 'ca')
  })
  after(async () => { await cleanup() })

  it('ca init creates the authority once', async () => {
    const r = await mesh('ca', 'init', '--ca', ca, '--name', 'lab')
    assert.equal(r.code, 0, r.err)
    assert.match(r.out, /^created mesh authority 12D3KooW\w+ \(lab\): .*ca\.key stays here, give nodes .*ca\.crt\n$/)
    assert.equal((await stat(join(ca, 'ca.key'))).mode & 0o777, 0o600)
    const again = await mesh('ca', 'init', '--ca', ca)
    assert.equal(again.code, 1)
    assert.match(again.err, /^mesh: .*ca\.key already exists; refusing to overwrite a mesh authority/)
  })

  it('ca sign writes a certificate that verifies, with a one-line summary', async () => {
    const peer = await newPeerId()
    const out = join(dir, 'node.crt')
    const r = await mesh('ca', 'sign', peer, '--ca', ca, '--name', 'node-1', '--tags', 'xai,junos', '--roles', 'run,dispatch', '--ttl', '90d', '--out', out)
    assert.equal(r.code, 0, r.err)
    assert.equal(r.out.split('\n').length, 2)
    assert.match(r.out, new RegExp(`^wrote ${out}: node-1 ${peer}, tags junos,xai, roles dispatch,run, serial [0-9a-f]{32}, valid until `))
    const authority = await loadAuthorityCert(join(ca, 'ca.crt'))
    const v = await verifyCertificate(await readCertificateFile(out), { authorities: [authority], peerId: peer, now: Date.now() })
    assert.ok(v.ok)
    assert.ok(Date.parse(v.cert.notAfter) - Date.parse(v.cert.notBefore) === 90 * 86_400_000)
    assert.match(await readFile(out, 'utf8'), /^-----BEGIN MESH NODE CERTIFICATE-----\n/)

    const printed = await mesh('ca', 'sign', peer, '--ca', ca, '--name', 'node-1', '--roles', 'run')
    assert.equal(printed.code, 0, printed.err)
    assert.match(printed.out, /^-----BEGIN MESH NODE CERTIFICATE-----\n[\s\S]+-----END MESH NODE CERTIFICATE-----\n$/)
  })

  it('ca sign refuses bad arguments with exit 2 and one line', async () => {
    const peer = await newPeerId()
    const cases: Array<[string[], RegExp]> = [
      [['not-a-peer', '--roles', 'run'], /'not-a-peer' is not a peer id/],
      [[peer, '--roles', 'root'], /--roles: 'root' is not a role \(one of: run, dispatch, admin\)/],
      [[peer, '--roles', 'run', '--ttl', '90'], /--ttl: '90' is not a duration/],
      [[peer, '--roles', 'run', '--tags', 'bad tag'], /invalid tag 'bad tag'/]
    ]
    for (const [args, message] of cases) {
      const r = await mesh('ca', 'sign', ...args, '--ca', ca, '--name', 'n')
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.err}`)
      assert.match(r.err, message)
      assert.equal(r.err.trim().split('\n').length, 1)
    }
    const missing = await mesh('ca', 'sign', peer, '--ca', ca, '--name', 'n')
    assert.equal(missing.code, 2)
    assert.match(missing.err, /--roles/)
    const noCa = await mesh('ca', 'sign', peer, '--ca', join(dir, 'nope'), '--name', 'n', '--roles', 'run')
    assert.equal(noCa.code, 1)
    assert.match(noCa.err, /no mesh authority here/)
  })

  it('ca revoke writes DIR/revocations.crl and prints its version (by peer id, and by certificate file)', async () => {
    const peer = await newPeerId()
    const r1 = await mesh('ca', 'revoke', peer, '--ca', ca)
    assert.equal(r1.code, 0, r1.err)
    assert.match(r1.out, new RegExp(`^revoked peer ${peer}: wrote .*revocations\\.crl, version 1 \\(1 revoked\\)\\n$`))
    const r2 = await mesh('ca', 'revoke', join(dir, 'node.crt'), '--ca', ca)
    assert.equal(r2.code, 0, r2.err)
    assert.match(r2.out, /^revoked certificate serial [0-9a-f]{32}: wrote .*, version 2 \(2 revoked\)\n$/)
    const authority = await loadAuthorityCert(join(ca, 'ca.crt'))
    assert.equal((await loadRevocations(join(ca, 'revocations.crl'), [authority]))?.list.version, 2)
    const again = await mesh('ca', 'revoke', peer, '--ca', ca)
    assert.equal(again.code, 1)
    assert.match(again.err, /is already revoked \(list version 2\)/)
    const bad = await mesh('ca', 'revoke', 'whatever', '--ca', ca)
    assert.equal(bad.code, 2)
    assert.match(bad.err, /'whatever' is not a peer id, a certificate serial \(32 hex digits\) or a certificate file/)
  })
})
