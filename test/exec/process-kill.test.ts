import assert from 'node:assert/strict'
import { join } from 'node:path'
import { afterEach, describe, it } from 'node:test'
import { processExecutor } from '../../src/exec/index.js'
import { alive, Cleanup, eventually, fileContains, pidsIn, readText, specIn, taskDir } from './helpers.js'

/** Two `sleep 1000 &` children that write their pids, then wait: a task with a process tree. */
function tree (pidFile: string): string[] {
  return ['sh', '-c', `sleep 1000 & echo $! >> ${pidFile}; sleep 1000 & echo $! >> ${pidFile}; echo ready; wait`]
}

describe('exec: process executor timeouts, cancel and shutdown', { timeout: 60_000 }, () => {
  const cleanup = new Cleanup()
  afterEach(async () => { await cleanup.run() })

  it('times out with timed_out / 124 and kills the whole process group', async () => {
    const executor = processExecutor()
    cleanup.hook(async () => { await executor.shutdown() })
    const dir = cleanup.dir(await taskDir())
    const pidFile = join(dir.root, 'pids')
    const handle = cleanup.handle(await executor.launch(specIn(dir, { command: tree(pidFile), timeoutMs: 1_500, killGraceMs: 1_000 })))
    await fileContains(dir.stdout, 'ready')
    const children = await pidsIn(pidFile)
    cleanup.pids(children)
    assert.equal(children.length, 2)
    assert.ok(children.every(alive), 'children run before the timeout')

    const status = await handle.wait()
    assert.equal(status.state, 'timed_out')
    assert.equal(status.exitCode, 124)
    assert.equal(status.signal, 'SIGTERM')
    assert.equal(status.error, 'timed out after 1.5s')
    await eventually(() => [handle.pid ?? 0, ...children].every((pid) => !alive(pid)), 'every process of the group to be gone')
  })

  it('SIGKILLs a task that ignores SIGTERM once the grace is over', async () => {
    const executor = processExecutor()
    cleanup.hook(async () => { await executor.shutdown() })
    const dir = cleanup.dir(await taskDir())
    const handle = cleanup.handle(await executor.launch(specIn(dir, { command: ['sh', '-c', 'trap "" TERM; echo ready; sleep 1000'], killGraceMs: 300 })))
    await fileContains(dir.stdout, 'ready')
    const status = await handle.cancel('test')
    assert.equal(status.state, 'cancelled')
    assert.equal(status.exitCode, 130)
    assert.equal(status.signal, 'SIGKILL')
    assert.equal(status.error, 'cancelled: test')
  })

  it('times out a task that ignores SIGTERM with SIGKILL and still reports 124', async () => {
    const executor = processExecutor()
    cleanup.hook(async () => { await executor.shutdown() })
    const dir = cleanup.dir(await taskDir())
    const handle = cleanup.handle(await executor.launch(specIn(dir, { command: ['sh', '-c', 'trap "" TERM; sleep 1000'], timeoutMs: 300, killGraceMs: 300 })))
    const status = await handle.wait()
    assert.equal(status.state, 'timed_out')
    assert.equal(status.exitCode, 124)
    assert.equal(status.signal, 'SIGKILL')
  })

  it('gives a task that handles SIGTERM the grace to finish', async () => {
    const executor = processExecutor()
    cleanup.hook(async () => { await executor.shutdown() })
    const dir = cleanup.dir(await taskDir())
    const handle = cleanup.handle(await executor.launch(specIn(dir, {
      command: ['sh', '-c', 'trap "echo cleaning up; exit 0" TERM; echo ready; sleep 1000 & wait'],
      killGraceMs: 20_000
    })))
    await fileContains(dir.stdout, 'ready')
    const status = await handle.cancel()
    assert.equal(status.state, 'cancelled')
    assert.equal(status.exitCode, 130)
    assert.equal(status.signal, null)
    assert.equal(status.error, 'cancelled')
    assert.match(await readText(dir.stdout), /cleaning up/)
  })

  it('cancels with cancelled / 130 and kills the whole group; cancel after the end returns the same status', async () => {
    const executor = processExecutor({ killGraceMs: 1_000 })
    cleanup.hook(async () => { await executor.shutdown() })
    const dir = cleanup.dir(await taskDir())
    const pidFile = join(dir.root, 'pids')
    const handle = cleanup.handle(await executor.launch(specIn(dir, { command: tree(pidFile), killGraceMs: undefined })))
    await fileContains(dir.stdout, 'ready')
    const children = await pidsIn(pidFile)
    cleanup.pids(children)
    const [status, again] = await Promise.all([handle.cancel('user asked'), handle.cancel('twice')])
    assert.equal(status.state, 'cancelled')
    assert.equal(status.exitCode, 130)
    assert.equal(status.error, 'cancelled: user asked')
    assert.deepEqual(again, status)
    assert.deepEqual(await handle.cancel('later'), status)
    await eventually(() => children.every((pid) => !alive(pid)), 'the children to be gone')
  })

  it('kills with SIGKILL at once when the grace is 0', async () => {
    const executor = processExecutor()
    cleanup.hook(async () => { await executor.shutdown() })
    const dir = cleanup.dir(await taskDir())
    const handle = cleanup.handle(await executor.launch(specIn(dir, { command: ['sleep', '1000'], killGraceMs: 0 })))
    const status = await handle.cancel()
    assert.equal(status.signal, 'SIGKILL')
    assert.equal(status.state, 'cancelled')
  })

  it('shutdown() cancels every running task and refuses new ones (retryable)', async () => {
    const executor = processExecutor({ killGraceMs: 1_000 })
    const dirs = await Promise.all([taskDir(), taskDir()])
    dirs.forEach((d) => cleanup.dir(d))
    const handles = await Promise.all(dirs.map(async (d, i) => cleanup.handle(await executor.launch(specIn(d, { taskId: `t${i}`, command: ['sleep', '1000'] })))))
    assert.ok(handles.every((h) => h.pid !== undefined && alive(h.pid)))
    await executor.shutdown()
    for (const handle of handles) {
      const status = await handle.wait()
      assert.equal(status.state, 'cancelled')
      assert.equal(status.exitCode, 130)
      assert.equal(status.error, 'cancelled: executor shut down')
      assert.equal(alive(handle.pid ?? 0), false)
    }
    const d = dirs[0]
    assert.ok(d !== undefined)
    await assert.rejects(executor.launch(specIn(d)), { name: 'LaunchError', retryable: true, message: /shut down/ })
    await executor.shutdown() // idempotent
  })
})
