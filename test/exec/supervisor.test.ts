import assert from 'node:assert/strict'
import { afterEach, describe, it } from 'node:test'
import { startProcess } from '../../src/exec/process/supervisor.js'
import type { ProcessOptions } from '../../src/exec/process/supervisor.js'
import { silentLogger } from '../../src/node/logger.js'
import { Cleanup, readText, taskDir } from './helpers.js'
import type { TaskDir } from './helpers.js'

/** startProcess without the pre-spawn lookup, to exercise spawn's own ENOENT/EACCES path. */
function options (dir: TaskDir, argv: string[]): ProcessOptions {
  return { argv, env: { PATH: '/usr/bin:/bin' }, cwd: dir.work, stdout: dir.stdout, stderr: dir.stderr, timeoutMs: 10_000, killGraceMs: 1_000, programs: [], log: silentLogger() }
}

describe('exec: process supervisor spawn failures', { timeout: 30_000 }, () => {
  const cleanup = new Cleanup()
  afterEach(async () => { await cleanup.run() })

  it('turns spawn ENOENT into a failed status, never an exception', async () => {
    const dir = cleanup.dir(await taskDir())
    const handle = await startProcess(options(dir, ['/no/such/program', 'x']))
    assert.equal(handle.pid, undefined)
    const status = await handle.wait()
    assert.deepEqual({ state: status.state, exitCode: status.exitCode, error: status.error }, { state: 'failed', exitCode: 127, error: 'command not found: /no/such/program' })
    assert.match(await readText(dir.stderr), /mesh: command not found: \/no\/such\/program/)
    assert.deepEqual(await handle.cancel(), status)
  })

  it('turns spawn EACCES into a failed status with 126', async () => {
    const dir = cleanup.dir(await taskDir())
    const handle = await startProcess(options(dir, [dir.work]))
    const status = await handle.wait()
    assert.equal(status.state, 'failed')
    assert.equal(status.exitCode, 126)
    assert.equal(status.error, `permission denied: ${dir.work}`)
  })

  it('throws a non-retryable LaunchError for an empty argv', async () => {
    const dir = cleanup.dir(await taskDir())
    await assert.rejects(startProcess(options(dir, [])), { name: 'LaunchError', retryable: false })
  })
})
