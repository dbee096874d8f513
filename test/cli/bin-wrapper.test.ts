import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { chmod, copyFile, mkdir, mkdtemp, realpath, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { promisify } from 'node:util'
import { fileURLToPath } from 'node:url'
import { DAEMON_NODE_FLAGS } from '../../src/cli/node-flags.js'

const WRAPPER = fileURLToPath(new URL('../../../bin/mesh', import.meta.url))

/**
 * bin/mesh in a repository layout of its own, whose pinned "node" only says what it was asked to
 * run: the wrapper must find that node and dist/src/cli/main.js however it is reached.
 */
describe('bin/mesh (the wrapper that picks the pinned Node)', () => {
  let dir: string
  let repo: string
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mesh-bin-'))
    repo = join(dir, 'a repo')
    await mkdir(join(repo, 'bin'), { recursive: true })
    await mkdir(join(repo, 'node_modules', 'node', 'bin'), { recursive: true })
    await mkdir(join(repo, 'dist', 'src', 'cli'), { recursive: true })
    await copyFile(WRAPPER, join(repo, 'bin', 'mesh'))
    await chmod(join(repo, 'bin', 'mesh'), 0o755)
    const fakeNode = join(repo, 'node_modules', 'node', 'bin', 'node')
    await writeFile(fakeNode, '#!/bin/sh\nprintf "%s\\n" "$@"\n')
    await chmod(fakeNode, 0o755)
    await writeFile(join(repo, 'dist', 'src', 'cli', 'main.js'), '')
    await symlink(join(repo, 'bin', 'mesh'), join(dir, 'mesh-link'))
    await symlink(repo, join(dir, 'repo-link'))
  })
  after(async () => { await rm(dir, { recursive: true, force: true }) })

  /** what the pinned node was given before main.js, and main.js (made absolute) with the rest */
  async function given (file: string, args: string[], cwd = dir): Promise<{ flags: string[], main: string[] }> {
    const { stdout } = await promisify(execFile)(file, args, { cwd })
    const all = stdout.split('\n').slice(0, -1)
    const at = all.findIndex(a => a.endsWith('main.js'))
    const main = all.slice(at)
    return { flags: all.slice(0, at), main: main[0] === undefined ? [] : [resolve(cwd, main[0]), ...main.slice(1)] }
  }

  /** what the pinned node was given for a short command: no V8 flags, then main.js and its arguments */
  async function run (file: string, cwd = dir): Promise<string[]> {
    const { flags, main } = await given(file, ['push', '--', 'echo', 'a b'], cwd)
    assert.deepEqual(flags, [], 'a short command runs without the daemon\'s V8 flags')
    return main
  }

  async function assertRanMain (args: string[]): Promise<void> {
    const [main, ...rest] = args
    assert.ok(main !== undefined, 'the pinned node was not run')
    assert.equal(await realpath(main), await realpath(join(repo, 'dist', 'src', 'cli', 'main.js')))
    assert.deepEqual(rest, ['push', '--', 'echo', 'a b'], 'arguments passed on as given')
  }

  it('gives `mesh start` the daemon\'s V8 flags of src/cli/node-flags.ts, before main.js', async () => {
    const { flags, main } = await given(join(repo, 'bin', 'mesh'), ['start', '--detach'])
    assert.deepEqual(flags, DAEMON_NODE_FLAGS)
    assert.equal(await realpath(main[0] ?? ''), await realpath(join(repo, 'dist', 'src', 'cli', 'main.js')))
    assert.deepEqual(main.slice(1), ['start', '--detach'])
  })

  it('runs main.js on the pinned node from its absolute path, a relative one and its own dir', async () => {
    await assertRanMain(await run(join(repo, 'bin', 'mesh')))
    await assertRanMain(await run('./a repo/bin/mesh'))
    await assertRanMain(await run('./mesh', join(repo, 'bin')))
  })

  it('follows a symlink to it (a PATH entry, npm link), also a chain of them', async () => {
    await assertRanMain(await run(join(dir, 'mesh-link')))
    await mkdir(join(dir, 'sub'), { recursive: true })
    await symlink('../mesh-link', join(dir, 'sub', 'chained'))
    await assertRanMain(await run(join(dir, 'sub', 'chained')))
  })

  it('works through a symlinked directory on the way', async () => {
    await assertRanMain(await run(join(dir, 'repo-link', 'bin', 'mesh')))
  })
})
