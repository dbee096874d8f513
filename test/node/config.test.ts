import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { hostname, tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { defaultConfig, loadConfig, saveConfig, validateConfig } from '../../src/node/config.js'
import type { MeshConfig } from '../../src/node/config.js'

describe('config', () => {
  let dir: string
  let n = 0
  before(async () => { dir = await mkdtemp(join(tmpdir(), 'mesh-config-')) })
  after(async () => { await rm(dir, { recursive: true, force: true }) })

  async function file (content: string): Promise<string> {
    const path = join(dir, `config-${++n}.json`)
    await writeFile(path, content)
    return path
  }

  /** loadConfig fails with one InvalidFileError line that starts with the path. */
  async function assertInvalid (content: string, message: RegExp): Promise<string> {
    const path = await file(content)
    let text = ''
    await assert.rejects(loadConfig(path), (err: Error) => {
      assert.equal(err.name, 'InvalidFileError')
      assert.ok(err.message.startsWith(`${path}: `), err.message)
      assert.ok(!err.message.includes('\n'), err.message)
      text = err.message.slice(path.length + 2)
      assert.match(text, message)
      return true
    })
    return text
  }

  it('has the documented defaults', () => {
    assert.deepEqual(defaultConfig(), {
      version: 1,
      name: hostname(),
      tags: [],
      listen: ['/ip4/0.0.0.0/tcp/7420'],
      bootstrap: [],
      mdns: true,
      heartbeatIntervalMs: 15_000,
      offlineAfterMs: 40_000,
      dropAfterMs: 86_400_000,
      suspectAfterMs: 37_500,
      probeIntervalMs: 1000,
      probeTimeoutMs: 2000,
      probeFailures: 3,
      executors: ['process'],
      maxQueuedTasks: 10_000,
      maxLogBytes: 64 * 1024 * 1024,
      keepTaskDirsMs: 7 * 86_400_000,
      maxCacheBytes: 10 * 1024 ** 3
    })
  })

  it('returns defaults when the file is missing', async () => {
    assert.deepEqual(await loadConfig(join(dir, 'absent.json')), defaultConfig())
  })

  it('round-trips through saveConfig as pretty JSON with mode 0600', async () => {
    const peer = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
    const config: MeshConfig = {
      ...defaultConfig(),
      name: 'lab-7',
      tags: ['gpu', 'xai'],
      listen: ['/ip4/127.0.0.1/tcp/0', '/ip6/::1/tcp/7420'],
      bootstrap: [`/dns4/boot.lab/tcp/7420/p2p/${peer}`],
      mdns: false
    }
    const path = join(dir, 'saved.json')
    await saveConfig(path, config)
    assert.deepEqual(await loadConfig(path), config)
    assert.equal((await stat(path)).mode & 0o777, 0o600)
    const text = await readFile(path, 'utf8')
    assert.ok(text.startsWith('{\n  "version": 1,\n'))
    assert.ok(text.endsWith('}\n'))
  })

  it('fills missing fields from defaults', async () => {
    const config = await loadConfig(await file('{ "tags": ["xai"], "mdns": false }'))
    assert.deepEqual(config, { ...defaultConfig(), tags: ['xai'], mdns: false })
  })

  it('names line and column of bad JSON', async () => {
    await assertInvalid('{\n  "tags": ["a"],\n  "mdns" false\n}\n', /^not valid JSON at line 3 column 10: expected ':'/)
    await assertInvalid('{ "mdns": true, }', /not valid JSON at line 1 column 17/)
    await assertInvalid('{\n  "mdns": true,\n  "tags": ["a", \n', /^not valid JSON: it ends early, at line 3 column 16 \(truncated\?\)$/)
    await assertInvalid('{ "mdns": tr', /^not valid JSON: it ends early, at line 1 column 13/)
    await assertInvalid('', /not valid JSON \(the file is empty\)/)
    await assertInvalid('{\n  "mdns": true,\n  "tags": [x]\n}', /^not valid JSON at line 3 column 12: unexpected 'x'$/)
    await assertInvalid('{ "name": "a\nb" }', /^not valid JSON at line 1 column 13: bad control character/)
    await assertInvalid('{ "mdns": true } }', /^not valid JSON at line 1 column 18/)
  })

  it('names the path of a bad field', async () => {
    const text = await assertInvalid('{ "listen": ["/ip4/0.0.0.0/tcp/1", "foo"] }', /field 'listen\[1\]': must be a multiaddr string/)
    assert.match(text, /'foo'/)
    await assertInvalid('{ "bootstrap": ["/ip4/1.2.3.4/tcp/7420"] }', /field 'bootstrap\[0\]': must be a multiaddr string ending with \/p2p\/<peer id>/)
    await assertInvalid('{ "mdns": "yes" }', /^field 'mdns': must be true or false$/)
    await assertInvalid('{ "tags": ["ok", "not ok"] }', /field 'tags\[1\]': must be a tag/)
    await assertInvalid('{ "tags": ["a", "a"] }', /field 'tags': must not repeat items/)
    await assertInvalid('{ "heartbeatIntervalMs": 1.5 }', /field 'heartbeatIntervalMs': must be an integer/)
    await assertInvalid('{ "heartbeatIntervalMs": 10 }', /field 'heartbeatIntervalMs': must be >= 100/)
    await assertInvalid('{ "version": 2 }', /field 'version': must be 1/)
    await assertInvalid('{ "name": "" }', /field 'name': must be a node name/)
    await assertInvalid('{ "name": "a\\u0001" }', /field 'name': must be a node name \("a\\u0001": must not contain control characters\)/)
  })

  it('rejects unknown fields and suggests the near one', async () => {
    await assertInvalid('{ "bootstap": [] }', /^unknown field 'bootstap' \(did you mean 'bootstrap'\?\)$/)
    await assertInvalid('{ "colour": 1 }', /^unknown field 'colour'$/)
  })

  it('reports every problem at once, on one line', async () => {
    const text = await assertInvalid('{ "mdns": 1, "listen": "x", "extra": true }', /; /)
    assert.match(text, /field 'mdns'/)
    assert.match(text, /field 'listen': must be an array/)
    assert.match(text, /unknown field 'extra'/)
  })

  it('rejects a document that is not an object', async () => {
    await assertInvalid('[1, 2]', /^must be a JSON object$/)
  })

  it('checks timings against each other', async () => {
    await assertInvalid('{ "heartbeatIntervalMs": 5000, "offlineAfterMs": 5000 }', /field 'offlineAfterMs': must be greater than heartbeatIntervalMs \(5000\)/)
    await assertInvalid('{ "dropAfterMs": 1000 }', /field 'dropAfterMs': must be at least offlineAfterMs/)
    await assertInvalid('{ "suspectAfterMs": 15000 }', /^field 'suspectAfterMs': must be greater than heartbeatIntervalMs \(15000\)$/)
  })

  it('checks the failure-detection knobs', async () => {
    await assertInvalid('{ "probeFailures": 0 }', /^field 'probeFailures': must be >= 1$/)
    await assertInvalid('{ "probeFailures": 2.5 }', /^field 'probeFailures': must be an integer$/)
    await assertInvalid('{ "probeIntervalMs": 10 }', /^field 'probeIntervalMs': must be >= 100$/)
    await assertInvalid('{ "probeTimeoutMs": "2s" }', /^field 'probeTimeoutMs': must be an integer$/)
    await assertInvalid('{ "probeFailure": 3 }', /^unknown field 'probeFailure' \(did you mean 'probeFailures'\?\)$/)
  })

  it('derives suspectAfterMs from the heartbeat interval unless it is set', () => {
    assert.equal(validateConfig({ heartbeatIntervalMs: 500 }, 'c.json').suspectAfterMs, 1250)
    assert.equal(validateConfig({ heartbeatIntervalMs: 500, suspectAfterMs: 3000 }, 'c.json').suspectAfterMs, 3000)
    assert.equal(validateConfig({}, 'c.json').suspectAfterMs, 37_500)
    const c = validateConfig({ probeIntervalMs: 500, probeTimeoutMs: 800, probeFailures: 5 }, 'c.json')
    assert.deepEqual([c.probeIntervalMs, c.probeTimeoutMs, c.probeFailures], [500, 800, 5])
  })

  it('refuses to save a config the next load would reject', async () => {
    const path = join(dir, 'never.json')
    await assert.rejects(saveConfig(path, { ...defaultConfig(), listen: ['nope'] }), { name: 'MeshError', message: /listen\[0\]/ })
    await assert.rejects(stat(path), { code: 'ENOENT' })
  })
})
