import assert from 'node:assert/strict'
import { afterEach, describe, it } from 'node:test'
import { mockExecutor, parseMockScript } from '../../src/exec/index.js'
import type { LaunchSpec } from '../../src/exec/index.js'
import { Cleanup, readText, specIn, taskDir } from './helpers.js'

describe('exec: mock executor', { timeout: 30_000 }, () => {
  const cleanup = new Cleanup()
  afterEach(async () => { await cleanup.run() })

  async function launch (over: Partial<LaunchSpec>, init: Parameters<typeof mockExecutor>[0] = {}) {
    const executor = mockExecutor(init)
    cleanup.hook(async () => { await executor.shutdown() })
    const dir = cleanup.dir(await taskDir())
    const handle = await executor.launch(specIn(dir, over))
    return { executor, dir, handle }
  }

  it('succeeds with exit 0 by default and starts no process', async () => {
    const { handle, executor } = await launch({ command: ['mock'] })
    assert.equal(handle.pid, undefined)
    const status = await handle.wait()
    assert.equal(status.state, 'succeeded')
    assert.equal(status.exitCode, 0)
    assert.equal(executor.launches.length, 1)
    assert.equal(executor.name, 'mock')
  })

  it('exits with exit=N after sleep=MS and writes stdout/stderr/env lines', async () => {
    const { handle, dir } = await launch({ command: ['mock', 'exit=3', 'sleep=20', 'stdout=hello', 'stdout=a=b', 'stderr=oops', 'env=MESH_TASK_ID', 'env=FOO'], env: { FOO: 'bar' }, taskId: 'm1' })
    const status = await handle.wait()
    assert.equal(status.state, 'failed')
    assert.equal(status.exitCode, 3)
    assert.equal(await readText(dir.stdout), 'hello\na=b\nMESH_TASK_ID=m1\nFOO=bar\n')
    assert.equal(await readText(dir.stderr), 'oops\n')
  })

  it('accepts a string command', async () => {
    const { handle } = await launch({ command: 'mock exit=2', shell: true })
    assert.equal((await handle.wait()).exitCode, 2)
  })

  it('ends killed by signal=SIG', async () => {
    const { handle } = await launch({ command: ['mock', 'signal=SIGSEGV'] })
    assert.deepEqual(await handle.wait().then((s) => [s.state, s.exitCode, s.signal, s.error]), ['failed', null, 'SIGSEGV', 'killed by signal SIGSEGV'])
  })

  it('times out with timed_out / 124 after SIGTERM', async () => {
    const { handle, executor } = await launch({ command: ['mock', 'sleep=inf'], timeoutMs: 30 })
    const status = await handle.wait()
    assert.deepEqual([status.state, status.exitCode, status.signal, status.error], ['timed_out', 124, 'SIGTERM', 'timed out after 30ms'])
    assert.deepEqual(executor.handles[0]?.signals, ['SIGTERM'])
  })

  it('is SIGKILLed after the grace when it ignores SIGTERM (term=ignore)', async () => {
    const { handle, executor } = await launch({ command: ['mock', 'sleep=inf', 'term=ignore'], killGraceMs: 20 })
    const status = await handle.cancel('stop')
    assert.deepEqual([status.state, status.exitCode, status.signal, status.error], ['cancelled', 130, 'SIGKILL', 'cancelled: stop'])
    assert.deepEqual(executor.handles[0]?.signals, ['SIGTERM', 'SIGKILL'])
  })

  it('takes term=MS to exit after SIGTERM, within the grace', async () => {
    const { handle } = await launch({ command: ['mock', 'sleep=inf', 'term=10'], killGraceMs: 10_000 })
    const status = await handle.cancel()
    assert.deepEqual([status.state, status.exitCode, status.signal], ['cancelled', 130, 'SIGTERM'])
  })

  it('reports a non-mock command as "command not found" (127)', async () => {
    const { handle, dir } = await launch({ command: ['ansible-playbook', 'x.yml'] })
    const status = await handle.wait()
    assert.deepEqual([status.state, status.exitCode, status.error], ['failed', 127, 'command not found: ansible-playbook'])
    assert.match(await readText(dir.stderr), /command not found: ansible-playbook/)
  })

  it('throws LaunchError from start_error with the retryable flag', async () => {
    const executor = mockExecutor()
    const dir = cleanup.dir(await taskDir())
    await assert.rejects(executor.launch(specIn(dir, { command: ['mock', 'start_error=no capacity', 'retryable=true'] })), { name: 'LaunchError', message: 'no capacity', retryable: true })
    await assert.rejects(executor.launch(specIn(dir, { command: ['mock', 'start_error=bad'] })), { name: 'LaunchError', retryable: false })
    assert.equal(executor.launches.length, 2)
  })

  it('rejects unknown keys and bad values loudly', () => {
    assert.throws(() => parseMockScript(['mock', 'exti=3']), { name: 'LaunchError', message: /unknown key "exti"/ })
    assert.throws(() => parseMockScript(['mock', 'exit=300']), { name: 'LaunchError', message: /exit must be an integer in 0..255/ })
    assert.throws(() => parseMockScript(['mock', 'sleep=soon']), { name: 'LaunchError' })
    assert.throws(() => parseMockScript(['mock', 'signal=SIGNOPE']), { name: 'LaunchError', message: /unknown signal/ })
    assert.throws(() => parseMockScript(['mock', 'naked']), { name: 'LaunchError', message: /key=value/ })
  })

  it('signal() records signals; SIGKILL ends it at once', async () => {
    const { handle, executor } = await launch({ command: ['mock', 'sleep=inf'] })
    handle.signal('SIGUSR1')
    handle.signal('SIGKILL')
    const status = await handle.wait()
    assert.deepEqual([status.state, status.signal], ['failed', 'SIGKILL'])
    assert.deepEqual(executor.handles[0]?.signals, ['SIGUSR1', 'SIGKILL'])
  })

  it('shutdown() cancels running mocks and refuses new launches', async () => {
    const { handle, executor, dir } = await launch({ command: ['mock', 'sleep=inf'] }, { killGraceMs: 10 })
    await executor.shutdown()
    assert.deepEqual(await handle.wait().then((s) => [s.state, s.error]), ['cancelled', 'cancelled: executor shut down'])
    await assert.rejects(executor.launch(specIn(dir, { command: ['mock'] })), { name: 'LaunchError', retryable: true })
  })

  it('can pretend to be unavailable', async () => {
    assert.deepEqual(await mockExecutor({ unavailableReason: 'switched off' }).available(), { ok: false, reason: 'switched off' })
    assert.deepEqual(await mockExecutor().available(), { ok: true })
  })
})
