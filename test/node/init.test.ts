import assert from 'node:assert/strict'
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { defaultConfig, loadConfig } from '../../src/node/config.js'
import { initHome } from '../../src/node/init.js'
import { generateSwarmKey, readSwarmKey } from '../../src/node/swarm-key.js'

describe('initHome', () => {
  let dir: string
  let n = 0
  const fresh = (): string => join(dir, `home-${++n}`)
  before(async () => { dir = await mkdtemp(join(tmpdir(), 'mesh-init-')) })
  after(async () => { await rm(dir, { recursive: true, force: true }) })

  it('creates home, key and config with private modes', async () => {
    const home = fresh()
    const res = await initHome({ home })
    assert.equal(res.createdKey, true)
    assert.match(res.peerId, /^12D3KooW/)
    assert.deepEqual(res.config, defaultConfig())
    assert.deepEqual(await loadConfig(res.paths.config), defaultConfig())
    assert.equal((await stat(home)).mode & 0o777, 0o700)
    assert.equal((await stat(res.paths.key)).mode & 0o777, 0o600)
    assert.equal((await stat(res.paths.config)).mode & 0o777, 0o600)
    assert.equal(await readSwarmKey(res.paths.swarmKey), undefined)
  })

  it('is idempotent: same peer id, key and config untouched', async () => {
    const home = fresh()
    const first = await initHome({ home, tags: ['xai'], name: 'n1' })
    const key = await readFile(first.paths.key)
    const configMtime = (await stat(first.paths.config)).mtimeMs
    const second = await initHome({ home })
    assert.equal(second.peerId, first.peerId)
    assert.equal(second.createdKey, false)
    assert.deepEqual(await readFile(second.paths.key), key)
    assert.deepEqual(second.config.tags, ['xai'])
    assert.equal(second.config.name, 'n1')
    assert.equal((await stat(first.paths.config)).mtimeMs, configMtime)
  })

  it('updates only the tags and name it is given', async () => {
    const home = fresh()
    const first = await initHome({ home, tags: ['a'] })
    await writeFile(first.paths.config, JSON.stringify({ mdns: false, tags: ['a'] }))
    const second = await initHome({ home, tags: ['b', 'c'] })
    assert.deepEqual(second.config.tags, ['b', 'c'])
    assert.equal(second.config.mdns, false)
    assert.deepEqual(await loadConfig(second.paths.config), second.config)
    const third = await initHome({ home, name: 'renamed' })
    assert.deepEqual(third.config.tags, ['b', 'c'])
    assert.equal(third.config.name, 'renamed')
  })

  it('installs a swarm key', async () => {
    const home = fresh()
    const src = join(dir, `swarm-${n}.key`)
    const bytes = generateSwarmKey()
    await writeFile(src, bytes)
    const res = await initHome({ home, swarmKeyFile: src })
    assert.deepEqual(new Uint8Array(await readFile(res.paths.swarmKey)), bytes)
    assert.equal((await stat(res.paths.swarmKey)).mode & 0o777, 0o600)
    assert.ok(await readSwarmKey(res.paths.swarmKey))
  })

  it('checks the swarm key before writing anything', async () => {
    const home = fresh()
    const src = join(dir, `bad-swarm-${n}.key`)
    await writeFile(src, 'not a swarm key')
    await assert.rejects(initHome({ home, swarmKeyFile: src }), { name: 'InvalidFileError', message: new RegExp(`^${src}: `) })
    await assert.rejects(stat(home), { code: 'ENOENT' })
    await assert.rejects(initHome({ home, swarmKeyFile: join(dir, 'missing.key') }), { name: 'MeshError', message: /^--swarm-key: cannot read/ })
  })

  it('replaces the key only with force', async () => {
    const home = fresh()
    const first = await initHome({ home })
    const forced = await initHome({ home, force: true })
    assert.equal(forced.createdKey, true)
    assert.notEqual(forced.peerId, first.peerId)
    assert.equal((await initHome({ home })).peerId, forced.peerId)
  })

  it('never replaces a corrupt key, and writes nothing when the config is invalid', async () => {
    const home = fresh()
    const { paths } = await initHome({ home })
    await writeFile(paths.key, 'garbage')
    await chmod(paths.key, 0o600)
    await assert.rejects(initHome({ home }), { name: 'InvalidFileError', message: /refusing to replace it/ })
    assert.equal(await readFile(paths.key, 'utf8'), 'garbage')

    const other = fresh()
    const first = await initHome({ home: other })
    await rm(first.paths.key)
    await writeFile(first.paths.config, '{ "lisen": [] }')
    await assert.rejects(initHome({ home: other }), { name: 'InvalidFileError', message: /unknown field 'lisen'/ })
    await assert.rejects(stat(first.paths.key), { code: 'ENOENT' })
  })

  it('reports an invalid --tags value through config validation', async () => {
    await assert.rejects(initHome({ home: fresh(), tags: ['bad tag'] }), { name: 'InvalidFileError', message: /field 'tags\[0\]'/ })
  })
})
