import { afterEach, beforeEach, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { mkdtemp, rm } from 'node:fs/promises'
import { createConnection } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { createControlClient, createControlServer } from '../../../src/node/control/index.js'
import type { ControlHandler, ControlServer } from '../../../src/node/control/index.js'

const ITEM = 'x'.repeat(16 * 1024)
const ITEMS = 1000

/** Sends raw bytes, then collects every reply line until the server closes the connection. */
async function raw (path: string, bytes: string | Buffer): Promise<unknown[]> {
  const socket = createConnection({ path })
  if (bytes.length > 0) socket.write(bytes)
  let text = ''
  socket.on('data', (chunk: Buffer) => { text += chunk.toString('utf8') })
  await once(socket, 'close')
  return text.split('\n').filter((line) => line !== '').map((line) => JSON.parse(line) as unknown)
}

describe('control server under hostile clients', { timeout: 10_000 }, () => {
  let home: string
  let path: string
  let server: ControlServer
  let produced: number

  const handlers: Record<string, ControlHandler> = {
    ping: () => Promise.resolve('pong'),
    flood: async function * () {
      for (produced = 0; produced < ITEMS; produced++) yield await Promise.resolve(ITEM)
    }
  }

  beforeEach(async () => {
    home = await mkdtemp(join(tmpdir(), 'mesh-ctl-'))
    path = join(home, 'control.sock')
    server = createControlServer({ path, handlers, maxRequestBytes: 1024, requestTimeoutMs: 100 })
    await server.start()
  })

  afterEach(async () => {
    // the server must have survived whatever the test did
    assert.equal(await createControlClient({ path, home }).call('ping'), 'pong')
    await server.stop()
    await rm(home, { recursive: true, force: true })
  })

  it('answers malformed JSON with an error, then closes', async () => {
    const [reply, ...rest] = await raw(path, '{"method": nope\n')
    assert.deepEqual(rest, [])
    assert.equal((reply as { error: { name: string } }).error.name, 'BadRequestError')
    assert.match((reply as { error: { message: string } }).error.message, /malformed control request: not JSON/)
  })

  it('answers a request without a method', async () => {
    const replies = await raw(path, '{"params":{}}\n')
    assert.deepEqual(replies, [{
      error: { name: 'BadRequestError', message: 'malformed control request: "method" must be a non-empty string', exitCode: 1 }
    }])
  })

  it('answers an unknown method', async () => {
    const replies = await raw(path, '{"method":"__proto__"}\n')
    assert.equal((replies[0] as { error: { name: string } }).error.name, 'UnknownMethodError')
  })

  it('answers an oversized request without waiting for its end', async () => {
    const replies = await raw(path, 'a'.repeat(4096))
    assert.deepEqual(replies, [{ error: { name: 'LineTooLongError', message: 'control message larger than 1024 bytes', exitCode: 1 } }])
  })

  it('survives garbage bytes', async () => {
    const garbage = Buffer.concat([randomBytes(512).map((b) => (b === 0x0a ? 0 : b)), Buffer.from('\n')])
    const replies = await raw(path, garbage)
    assert.equal((replies[0] as { error: { name: string } }).error.name, 'BadRequestError')
  })

  it('gives up on a client that never sends a whole line', async () => {
    const replies = await raw(path, '{"method":"pi')
    assert.deepEqual(replies, [{ error: { name: 'RequestTimeoutError', message: 'no control request received within 0.1 s', exitCode: 1 } }])
  })

  it('gives up on a client that sends nothing', async () => {
    const replies = await raw(path, '')
    assert.equal((replies[0] as { error: { name: string } }).error.name, 'RequestTimeoutError')
  })

  it('survives a client that hangs up mid-line', async () => {
    const socket = createConnection({ path })
    socket.write('{"meth')
    await sleep(10)
    socket.destroy()
    await sleep(10)
  })

  it('survives a client that hangs up mid-stream', async () => {
    const socket = createConnection({ path })
    socket.write('{"method":"flood"}\n')
    await once(socket, 'data')
    socket.destroy()
    await sleep(20)
    assert.ok(produced < ITEMS, 'the stream stopped when the client left')
  })

  it('waits for a slow reader instead of buffering the whole stream', async () => {
    const socket = createConnection({ path })
    socket.write('{"method":"flood"}\n')
    socket.pause()
    await sleep(200)
    assert.ok(produced < ITEMS / 2, `the handler ran ahead of the reader: ${produced} items`)
    let text = ''
    socket.setEncoding('utf8')
    socket.on('data', (chunk: string) => { text += chunk })
    socket.resume()
    await once(socket, 'close')
    const lines = text.split('\n').filter((line) => line !== '')
    assert.equal(lines.length, ITEMS + 1)
    assert.equal(lines.at(-1), '{"end":true}')
  })
})
