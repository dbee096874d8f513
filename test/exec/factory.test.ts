import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { createExecutor, EXECUTOR_NAMES, isExecutorName, selectExecutor } from '../../src/exec/index.js'
import { fakeProbe } from './fakes.js'

describe('exec: createExecutor / selectExecutor', () => {
  it('creates each executor by name', async () => {
    for (const name of EXECUTOR_NAMES) {
      const executor = createExecutor(name, { probe: fakeProbe({}) })
      assert.equal(executor.name, name)
      await executor.shutdown()
    }
  })

  it('recognises executor names', () => {
    assert.equal(isExecutorName('systemd'), true)
    assert.equal(isExecutorName('docker'), false)
  })

  it('picks the first available executor and says why the others were skipped', async () => {
    const { executor, skipped } = await selectExecutor(['systemd', 'container', 'process'], { probe: fakeProbe({}) })
    assert.equal(executor.name, 'process')
    assert.deepEqual(skipped, [
      { name: 'systemd', reason: 'systemd-run is not on PATH' },
      { name: 'container', reason: 'no container runtime on PATH (looked for podman, docker)' }
    ])
  })

  it('throws ExecutorUnavailableError with every reason when none is available', async () => {
    await assert.rejects(selectExecutor(['systemd', 'mock'], { probe: fakeProbe({}), unavailableReason: 'off' }), (err: Error & { executor?: string, retryable?: boolean, exitCode?: number }) => {
      assert.equal(err.name, 'ExecutorUnavailableError')
      assert.equal(err.message, 'executor systemd, mock is unavailable: systemd: systemd-run is not on PATH; mock: off')
      assert.equal(err.retryable, false)
      assert.equal(err.exitCode, 1)
      return true
    })
    await assert.rejects(selectExecutor([]), { name: 'ExecutorUnavailableError', message: /no executor was asked for/ })
  })
})
