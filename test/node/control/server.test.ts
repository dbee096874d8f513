import { afterEach, beforeEach, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { lstat, mkdir, mkdtemp, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createControlClient, createControlServer } from '../../../src/node/control/index.js'
import { MAX_SOCKET_PATH_BYTES } from '../../../src/node/control/constants.js'
import type { ControlHandler } from '../../../src/node/control/index.js'

const handlers: Record<string, ControlHandler> = { ping: () => Promise.resolve('pong') }

/** A socket file nothing listens on, as a daemon killed with SIGKILL leaves behind. */
async function staleSocket (path: string): Promise<void> {
  const server = createServer()
  const bound = `${path}.tmp`
  await new Promise<void>((resolve) => server.listen(bound, resolve))
  await rename(bound, path) // closing unlinks only the path it bound
  await new Promise((resolve) => server.close(resolve))
}

describe('control server lifecycle', { timeout: 10_000 }, () => {
  let home: string
  let path: string

  beforeEach(async () => {
    home = await mkdtemp(join(tmpdir(), 'mesh-ctl-'))
    path = join(home, 'control.sock')
  })

  afterEach(async () => {
    await rm(home, { recursive: true, force: true })
  })

  it('creates the socket with mode 0600 and leaves no temporary files', async () => {
    const server = createControlServer({ path, handlers })
    await server.start()
    try {
      const stats = await stat(path)
      assert.ok(stats.isSocket())
      assert.equal(stats.mode & 0o777, 0o600)
      assert.equal(await createControlClient({ path, home }).call('ping'), 'pong')
      assert.deepEqual(await readdir(home), ['control.sock'])
    } finally {
      await server.stop()
    }
  })

  it('start() and stop() are idempotent and symmetric', async () => {
    const server = createControlServer({ path, handlers })
    await Promise.all([server.start(), server.start()])
    await server.start()
    await server.stop()
    await assert.rejects(lstat(path), { code: 'ENOENT' })
    await server.stop()
    await server.start()
    assert.equal(await createControlClient({ path, home }).call('ping'), 'pong')
    await server.stop()
    await assert.rejects(lstat(path), { code: 'ENOENT' })
  })

  it('stop() before start() does nothing', async () => {
    await createControlServer({ path, handlers }).stop()
  })

  it('replaces a stale socket file', async () => {
    await staleSocket(path)
    assert.ok((await lstat(path)).isSocket())
    await assert.rejects(createControlClient({ path, home }).call('ping'), { name: 'NoDaemonError', exitCode: 4 })
    const server = createControlServer({ path, handlers })
    await server.start()
    try {
      assert.equal(await createControlClient({ path, home }).call('ping'), 'pong')
    } finally {
      await server.stop()
    }
  })

  it('refuses to start over a live daemon, which keeps running', async () => {
    const first = createControlServer({ path, handlers })
    await first.start()
    try {
      const second = createControlServer({ path, handlers, home })
      await assert.rejects(second.start(), {
        name: 'DaemonRunningError', message: `a mesh daemon is already running for ${home}`
      })
      await second.stop()
      assert.equal(await createControlClient({ path, home }).call('ping'), 'pong')
    } finally {
      await first.stop()
    }
  })

  it('does not delete a file that is not a socket', async () => {
    await writeFile(path, 'mine')
    await assert.rejects(createControlServer({ path, handlers }).start(), { name: 'NotASocketError', message: new RegExp(path) })
    assert.equal(await readFile(path, 'utf8'), 'mine')
  })

  it('names a socket path over the Unix limit', async () => {
    const long = join(home, 'x'.repeat(120), 'control.sock')
    await assert.rejects(createControlServer({ path: long, handlers }).start(), (err: Error) => {
      assert.equal(err.name, 'SocketPathTooLongError')
      assert.ok(err.message.includes(long))
      return true
    })
    await assert.rejects(createControlClient({ path: long, home }).call('ping'), { name: 'SocketPathTooLongError' })
  })

  it('binds in place when the temporary path would not fit', async () => {
    // a socket path exactly at the limit with a one-byte name: the .cXXXXXX/s detour is longer
    const dir = join(home, 'd'.repeat(MAX_SOCKET_PATH_BYTES - home.length - 3))
    await mkdir(dir)
    const tight = join(dir, 's')
    assert.equal(Buffer.byteLength(tight), MAX_SOCKET_PATH_BYTES)
    const server = createControlServer({ path: tight, handlers })
    await server.start()
    try {
      assert.equal((await stat(tight)).mode & 0o777, 0o600)
      assert.equal(await createControlClient({ path: tight, home }).call('ping'), 'pong')
    } finally {
      await server.stop()
    }
    await assert.rejects(lstat(tight), { code: 'ENOENT' })
  })
})
