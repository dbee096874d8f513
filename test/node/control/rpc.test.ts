import { afterEach, beforeEach, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { pino } from 'pino'
import { MeshError } from '../../../src/errors.js'
import { createControlClient, createControlServer } from '../../../src/node/control/index.js'
import type { ControlClient, ControlHandler, ControlServer } from '../../../src/node/control/index.js'

class NoPeerError extends MeshError {
  constructor () {
    super('no peer can take the task', 3)
    this.name = 'NoPeerError'
  }
}

describe('control call and stream', { timeout: 10_000 }, () => {
  let home: string
  let path: string
  let server: ControlServer
  let client: ControlClient
  let logged: string[]
  let handlerAborted: PromiseWithResolvers<void>

  const handlers: Record<string, ControlHandler> = {
    echo: (params) => Promise.resolve({ echoed: params }),
    nothing: () => Promise.resolve(undefined),
    count: async function * (params) {
      const n = (params as { n: number }).n
      for (let i = 0; i < n; i++) yield await Promise.resolve(i)
    },
    forever: async function * (_params, { signal }) {
      signal.addEventListener('abort', () => { handlerAborted.resolve() })
      for (let i = 0; ; i++) {
        yield i
        await sleep(1)
      }
    },
    hang: async (_params, { signal }) => {
      signal.addEventListener('abort', () => { handlerAborted.resolve() })
      return await new Promise(() => {})
    },
    refuse: () => Promise.reject(new NoPeerError()),
    crash: () => Promise.reject(new Error('boom')),
    crashMidStream: async function * () {
      yield 1
      await sleep(1)
      throw new Error('went wrong')
    },
    bigint: () => Promise.resolve(1n)
  }

  beforeEach(async () => {
    home = await mkdtemp(join(tmpdir(), 'mesh-ctl-'))
    path = join(home, 'control.sock')
    logged = []
    handlerAborted = Promise.withResolvers<void>()
    const log = pino({ level: 'error' }, { write: (line: string) => { logged.push(line) } })
    server = createControlServer({ path, handlers, log })
    await server.start()
    client = createControlClient({ path, home })
  })

  afterEach(async () => {
    await server.stop()
    await rm(home, { recursive: true, force: true })
  })

  it('round-trips a call', async () => {
    assert.deepEqual(await client.call('echo', { a: [1, 'x'] }), { echoed: { a: [1, 'x'] } })
    assert.equal(await client.call('nothing'), null)
  })

  it('streams several items', async () => {
    const items: number[] = []
    for await (const item of client.stream<number>('count', { n: 5 })) items.push(item)
    assert.deepEqual(items, [0, 1, 2, 3, 4])
  })

  it('call() on a streaming method collects the items; stream() on a promise method yields the result', async () => {
    assert.deepEqual(await client.call('count', { n: 3 }), [0, 1, 2])
    assert.deepEqual(await client.call('count', { n: 0 }), [])
    const results: unknown[] = []
    for await (const r of client.stream('echo', 7)) results.push(r)
    assert.deepEqual(results, [{ echoed: 7 }])
  })

  it('leaving a stream early closes it and aborts the handler', async () => {
    for await (const n of client.stream<number>('forever')) {
      if (n >= 2) break
    }
    await handlerAborted.promise
    assert.deepEqual(await client.call('echo', 1), { echoed: 1 }, 'server still serves')
  })

  it('aborting a call rejects it and aborts the handler', async () => {
    const controller = new AbortController()
    const rejected = assert.rejects(client.call('hang', undefined, { signal: controller.signal }), { name: 'AbortError' })
    await sleep(20)
    controller.abort()
    await rejected
    await handlerAborted.promise
  })

  it('aborting a stream ends the loop with the reason', async () => {
    const controller = new AbortController()
    const seen: number[] = []
    await assert.rejects(async () => {
      for await (const n of client.stream<number>('forever', undefined, { signal: controller.signal })) {
        seen.push(n)
        if (n === 1) controller.abort(new Error('enough'))
      }
    }, { message: 'enough' })
    assert.deepEqual(seen, [0, 1])
    await handlerAborted.promise
  })

  it('a handler MeshError keeps its name, message and exit code', async () => {
    const err = await client.call('refuse').catch((e: unknown) => e)
    assert.ok(err instanceof MeshError)
    assert.equal(err.name, 'NoPeerError')
    assert.equal(err.message, 'no peer can take the task')
    assert.equal(err.exitCode, 3)
    assert.equal(logged.length, 0, 'user errors are not logged as failures')
  })

  it('any other error is an InternalError, logged with its stack', async () => {
    await assert.rejects(client.call('crash'), { name: 'InternalError', message: 'internal error: boom', exitCode: 1 })
    assert.equal(logged.length, 1)
    const entry = JSON.parse(logged[0] ?? '{}') as { err?: { stack?: string }, method?: string }
    assert.match(entry.err?.stack ?? '', /boom\n\s+at /)
    assert.equal(entry.method, 'crash')
  })

  it('an error mid-stream arrives after the items sent so far', async () => {
    const seen: unknown[] = []
    await assert.rejects(async () => {
      for await (const item of client.stream('crashMidStream')) seen.push(item)
    }, { name: 'InternalError', message: 'internal error: went wrong' })
    assert.deepEqual(seen, [1])
  })

  it('a result that cannot be serialised is an InternalError', async () => {
    await assert.rejects(client.call('bigint'), { name: 'InternalError', message: /BigInt/ })
  })

  it('an unknown method is refused, prototype names included', async () => {
    await assert.rejects(client.call('nope'), { name: 'UnknownMethodError', message: /'nope'/ })
    await assert.rejects(client.call('toString'), { name: 'UnknownMethodError' })
  })

  it('an oversized request is refused', async () => {
    await server.stop()
    server = createControlServer({ path, handlers, maxRequestBytes: 1024 })
    await server.start()
    await assert.rejects(client.call('echo', 'x'.repeat(4096)), { name: 'LineTooLongError', message: /1024 bytes/ })
    assert.deepEqual(await client.call('echo', 'ok'), { echoed: 'ok' })
  })

  it('times out with a clear message', async () => {
    await assert.rejects(client.call('hang', undefined, { timeoutMs: 50 }), {
      name: 'DaemonTimeoutError', message: 'the mesh daemon did not answer within 0.05 s'
    })
    await handlerAborted.promise
  })

  it('stop() aborts running handlers and the client learns the daemon went away', async () => {
    const rejected = assert.rejects(client.call('hang'), {
      name: 'DaemonClosedError', message: 'the mesh daemon closed the connection'
    })
    await sleep(20)
    await server.stop()
    await handlerAborted.promise
    await rejected
  })
})

describe('control client without a daemon', () => {
  it('throws NoDaemonError (exit 4) when no socket exists', async () => {
    const home = await mkdtemp(join(tmpdir(), 'mesh-ctl-'))
    try {
      const client = createControlClient({ path: join(home, 'control.sock'), home })
      await assert.rejects(client.call('peers'), { name: 'NoDaemonError', exitCode: 4, message: new RegExp(home) })
      await assert.rejects(async () => {
        for await (const _ of client.stream('peers')) assert.fail('no items expected')
      }, { name: 'NoDaemonError' })
    } finally {
      await rm(home, { recursive: true, force: true })
    }
  })

  it('reports a daemon that hangs up before replying', async () => {
    const home = await mkdtemp(join(tmpdir(), 'mesh-ctl-'))
    const path = join(home, 'control.sock')
    const rude = createServer((socket) => { socket.once('data', () => socket.end()) })
    await new Promise<void>((resolve) => rude.listen(path, resolve))
    try {
      await assert.rejects(createControlClient({ path, home }).call('peers'), { name: 'DaemonClosedError' })
    } finally {
      await new Promise((resolve) => rude.close(resolve))
      await rm(home, { recursive: true, force: true })
    }
  })

  it('reports a reply that is not of this protocol', async () => {
    const home = await mkdtemp(join(tmpdir(), 'mesh-ctl-'))
    const path = join(home, 'control.sock')
    const odd = createServer((socket) => { socket.once('data', () => socket.end('HTTP/1.1 400\n')) })
    await new Promise<void>((resolve) => odd.listen(path, resolve))
    try {
      await assert.rejects(createControlClient({ path, home }).call('peers'), { name: 'BadReplyError' })
    } finally {
      await new Promise((resolve) => odd.close(resolve))
      await rm(home, { recursive: true, force: true })
    }
  })
})
