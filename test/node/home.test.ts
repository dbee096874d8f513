import assert from 'node:assert/strict'
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { ensureHome, homePaths, resolveHome, writeFileAtomic } from '../../src/node/home.js'

describe('resolveHome', () => {
  const env = { HOME: '/home/ada', MESH_HOME: '/srv/mesh-env' }

  it('prefers --home over MESH_HOME over ~/.mesh', () => {
    assert.equal(resolveHome('/srv/flag', env), '/srv/flag')
    assert.equal(resolveHome(undefined, env), '/srv/mesh-env')
    assert.equal(resolveHome(undefined, { HOME: '/home/ada' }), '/home/ada/.mesh')
  })

  it('treats an empty MESH_HOME as unset', () => {
    assert.equal(resolveHome(undefined, { HOME: '/home/ada', MESH_HOME: '' }), '/home/ada/.mesh')
  })

  it('always returns an absolute path', () => {
    assert.equal(resolveHome('rel/home', env), resolve('rel/home'))
    assert.equal(resolveHome(undefined, { HOME: '/home/ada', MESH_HOME: 'x' }), resolve('x'))
  })

  it('expands a leading ~ the shell left alone (--home=~/x)', () => {
    assert.equal(resolveHome('~/labs/a', env), '/home/ada/labs/a')
    assert.equal(resolveHome('~', env), '/home/ada')
  })

  it('rejects an empty --home as a usage error', () => {
    assert.throws(() => resolveHome('', env), { name: 'UsageError', message: /--home/ })
  })
})

describe('homePaths', () => {
  it('lays out every file under the root', () => {
    assert.deepEqual(homePaths('/m'), {
      root: '/m',
      key: '/m/node.key',
      config: '/m/config.json',
      swarmKey: '/m/swarm.key',
      db: '/m/db',
      socket: '/m/mesh.sock',
      log: '/m/daemon.log',
      tasks: '/m/tasks'
    })
  })
})

describe('ensureHome', () => {
  let dir: string
  before(async () => { dir = await mkdtemp(join(tmpdir(), 'mesh-home-')) })
  after(async () => { await rm(dir, { recursive: true, force: true }) })

  it('creates nested folders with mode 0700 and is idempotent', async () => {
    const root = join(dir, 'a', 'b', 'home')
    const paths = await ensureHome(root)
    assert.equal(paths.root, root)
    const st = await stat(root)
    assert.ok(st.isDirectory())
    assert.equal(st.mode & 0o777, 0o700)
    await ensureHome(root)
  })

  it('reports a file in the way in one line naming the path', async () => {
    const file = join(dir, 'occupied')
    await writeFile(file, 'not a dir')
    await assert.rejects(ensureHome(file), (err: Error) => {
      assert.equal(err.name, 'MeshError')
      assert.equal(err.message, `cannot use ${file} as mesh home: it exists and is not a directory`)
      return true
    })
  })

  it('reports a file in place of a parent folder', async () => {
    const file = join(dir, 'parent-file')
    await writeFile(file, '')
    await assert.rejects(ensureHome(join(file, 'home')), (err: Error) => {
      assert.equal(err.name, 'MeshError')
      assert.match(err.message, /^cannot use .*parent-file\/home as mesh home: a parent path is not a directory$/)
      return true
    })
  })

  it('fails (does not spin) where mkdir says ENOENT under an existing parent', { skip: process.platform !== 'linux', timeout: 5000 }, async () => {
    // /proc does this; Node's recursive mkdir retries it forever
    await assert.rejects(ensureHome('/proc/mesh-home-test/a'), { name: 'MeshError', message: /^cannot use \/proc\/mesh-home-test\/a as mesh home: / })
  })
})

describe('writeFileAtomic', () => {
  let dir: string
  before(async () => { dir = await mkdtemp(join(tmpdir(), 'mesh-atomic-')) })
  after(async () => { await rm(dir, { recursive: true, force: true }) })

  it('writes mode 0600 and leaves no temp file behind', async () => {
    const file = join(dir, 'f')
    assert.equal(await writeFileAtomic(file, 'one'), true)
    assert.equal(await writeFileAtomic(file, 'two'), true)
    assert.equal(await readFile(file, 'utf8'), 'two')
    assert.equal((await stat(file)).mode & 0o777, 0o600)
    assert.deepEqual(await readdir(dir), ['f'])
  })

  it('exclusive mode keeps an existing file and says so', async () => {
    const file = join(dir, 'g')
    await writeFile(file, 'old')
    assert.equal(await writeFileAtomic(file, 'new', { exclusive: true }), false)
    assert.equal(await readFile(file, 'utf8'), 'old')
    assert.deepEqual((await readdir(dir)).sort(), ['f', 'g'])
  })

  it('fails with a MeshError naming the file', async () => {
    await assert.rejects(writeFileAtomic(join(dir, 'missing', 'x'), 'x'), {
      name: 'MeshError',
      message: `cannot write ${join(dir, 'missing', 'x')}: no such file or directory`
    })
  })
})
