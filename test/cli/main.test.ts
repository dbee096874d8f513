import assert from 'node:assert/strict'
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { compileCacheDir } from '../../src/cli/compile-cache.js'
import { cli } from '../helpers/daemons.js'
import type { CliResult } from '../helpers/daemons.js'

describe('compileCacheDir', () => {
  const home = (): string => '/home/u'
  it('is NODE_COMPILE_CACHE when set', () => {
    assert.equal(compileCacheDir({ NODE_COMPILE_CACHE: '/c' }, home), '/c')
  })
  it('is under an absolute XDG_CACHE_HOME, else under ~/.cache; never the shared temp dir', () => {
    assert.equal(compileCacheDir({ XDG_CACHE_HOME: '/x' }, home), '/x/mesh/compile-cache')
    assert.equal(compileCacheDir({}, home), '/home/u/.cache/mesh/compile-cache')
    assert.equal(compileCacheDir({ XDG_CACHE_HOME: 'relative' }, home), '/home/u/.cache/mesh/compile-cache')
  })
})

describe('the mesh executable (main.js)', () => {
  let dir: string
  before(async () => { dir = await mkdtemp(join(tmpdir(), 'mesh-main-')) })
  after(async () => { await rm(dir, { recursive: true, force: true }) })

  // the caller's own cache settings must not decide where these runs put theirs
  const mesh = async (env: NodeJS.ProcessEnv): Promise<CliResult> =>
    cli(['--version'], { env: { NODE_COMPILE_CACHE: undefined, XDG_CACHE_HOME: undefined, NODE_DISABLE_COMPILE_CACHE: undefined, ...env } })

  it('keeps the compiled modules in the user\'s own cache dir', async () => {
    const home = join(dir, 'home')
    const { code, stdout, stderr } = await mesh({ HOME: home })
    assert.equal(code, 0)
    assert.match(stdout, /^\d+\.\d+\.\d+/)
    assert.equal(stderr, '')
    const versions = await readdir(join(home, '.cache', 'mesh', 'compile-cache'))
    assert.equal(versions.length, 1, 'one directory per Node version')
    assert.ok((await readdir(join(home, '.cache', 'mesh', 'compile-cache', versions[0] as string))).length > 0, 'cache entries written')
  })

  it('runs uncached, silently, when the cache dir cannot be made', async () => {
    const blocked = join(dir, 'not-a-dir')
    await writeFile(blocked, '')
    const { code, stdout, stderr } = await mesh({ XDG_CACHE_HOME: blocked })
    assert.equal(code, 0)
    assert.match(stdout, /^\d+\.\d+\.\d+/)
    assert.equal(stderr, '')
  })
})
