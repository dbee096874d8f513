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

  /** what the pinned node was given, main.js's path made absolute */
  async function run (file: string, cwd = dir): Promise<string[]> {
    const { stdout } = await promisify(execFile)(file, ['push', '--', 'echo', 'a b'], { cwd })
    const args = stdout.split('\n').slice(0, -1)
    const flags = args.splice(0, DAEMON_NODE_FLAGS.length)
    assert.deepEqual(flags, DAEMON_NODE_FLAGS, 'the V8 flags of src/cli/node-flags.ts, before main.js')
    const [main, ...rest] = args
    return main === undefined ? [] : [resolve(cwd, main), ...rest]
  }

  async function assertRanMain (args: string[]): Promise<void> {
    const [main, ...rest] = args
    assert.ok(main !== undefined, 'the pinned node was not run')
    assert.equal(await realpath(main), await realpath(join(repo, 'dist', 'src', 'cli', 'main.js')))
    assert.deepEqual(rest, ['push', '--', 'echo', 'a b'], 'arguments passed on as given')
  }

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
