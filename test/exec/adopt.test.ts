import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, afterEach, describe, it } from 'node:test'
import { findGroupLeadersByEnv, processExecutor, processIdentity } from '../../src/exec/index.js'
import { decodeStatus, readExitFile } from '../../src/exec/process/exit-file.js'
import { parseStat } from '../../src/exec/process/procstat.js'
import type { Handle } from '../../src/exec/index.js'
import { alive, Cleanup, eventually, specIn, taskDir } from './helpers.js'

describe('exec: exit file and adoption after a restart', { timeout: 60_000 }, () => {
  const first = processExecutor({ killGraceMs: 1_000 })
  const second = processExecutor({ killGraceMs: 1_000 })
  const cleanup = new Cleanup()
  afterEach(async () => { await cleanup.run() })
  after(async () => { await Promise.all([first.shutdown(), second.shutdown()]) })

  async function launched (command: string[], over = {}): Promise<{ handle: Handle, exitFile: string, startTime: string }> {
    const d = cleanup.dir(await taskDir())
    const exitFile = join(d.root, 'exit')
    const handle = cleanup.handle(await first.launch(specIn(d, { command, exitFile, ...over })))
    const id = await processIdentity(handle.pid!)
    assert.ok(id != null, 'the task has a /proc identity')
    return { handle, exitFile, startTime: id.startTime }
  }

  it('records the exit code in the exit file and still reports it live', async () => {
    const { handle, exitFile } = await launched(['sh', '-c', 'sleep 0.2; exit 3'])
    const status = await handle.wait()
    assert.deepEqual([status.state, status.exitCode, status.error], ['failed', 3, 'exited with code 3'])
    assert.equal((await readFile(exitFile, 'utf8')).trim(), '3')
  })

  it('keeps "killed by signal" for a task that dies of a signal under the wrapper', async () => {
    // the pause lets launched() read the wrapper's /proc identity before everything has exited
    const { handle, exitFile } = await launched(['sh', '-c', 'sleep 0.2; kill -KILL $$'])
    const status = await handle.wait()
    assert.deepEqual([status.state, status.exitCode, status.signal, status.error], ['failed', null, 'SIGKILL', 'killed by signal SIGKILL'])
    assert.equal((await readFile(exitFile, 'utf8')).trim(), '137')
  })

  it('cancels a wrapped task: SIGTERM reaches the task, not only the wrapper', async () => {
    const { handle } = await launched(['sleep', '30'])
    const status = await handle.cancel('test')
    assert.equal(status.state, 'cancelled')
    await eventually(() => !alive(handle.pid!), 'the task group to be gone')
  })

  it('adopts a task another executor launched and reads its end from the exit file', async () => {
    const { handle, exitFile, startTime } = await launched(['sh', '-c', 'sleep 0.5; exit 4'])
    const adopted = await second.adopt({ taskId: 't1', attempt: 1, pid: handle.pid!, startTime, exitFile, startedAt: new Date(), timeoutMs: 0 })
    assert.ok(adopted != null, 'a running task is adopted')
    const status = await adopted.wait()
    assert.deepEqual([status.state, status.exitCode], ['failed', 4])
  })

  it('refuses a pid whose start time differs (the pid was reused)', async () => {
    const { handle, exitFile } = await launched(['sleep', '30'])
    const adopted = await second.adopt({ taskId: 't1', attempt: 1, pid: handle.pid!, startTime: '1', exitFile, startedAt: new Date(), timeoutMs: 0 })
    assert.equal(adopted, undefined)
  })

  it('cancels an adopted task through its process group', async () => {
    const { handle, exitFile, startTime } = await launched(['sleep', '30'])
    const adopted = cleanup.handle((await second.adopt({ taskId: 't1', attempt: 1, pid: handle.pid!, startTime, exitFile, startedAt: new Date(), timeoutMs: 0 }))!)
    const status = await adopted.cancel('by test')
    assert.deepEqual([status.state, status.exitCode], ['cancelled', 130])
    await eventually(() => !alive(handle.pid!), 'the adopted task to be gone')
  })

  it('enforces what is left of the timeout on an adopted task', async () => {
    const { handle, exitFile, startTime } = await launched(['sleep', '30'])
    const adopted = cleanup.handle((await second.adopt({ taskId: 't1', attempt: 1, pid: handle.pid!, startTime, exitFile, startedAt: new Date(Date.now() - 10_000), timeoutMs: 5_000 }))!)
    const status = await adopted.wait()
    assert.deepEqual([status.state, status.exitCode], ['timed_out', 124])
  })

  it('finds a task by its MESH_TASK_ID when no pid was journaled', async () => {
    const { handle } = await launched(['sleep', '30'], { taskId: 'findme-42', attempt: 3 })
    const found = await findGroupLeadersByEnv({ MESH_TASK_ID: 'findme-42', MESH_ATTEMPT: '3' })
    assert.deepEqual(found.map(f => f.pid), [handle.pid])
  })
})

describe('exec: /proc stat and shell status parsing', () => {
  it('reads state, group and start time after a command name with spaces and parentheses', () => {
    const line = '4242 (we ird) (x)) S 1 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 100'
    assert.deepEqual(parseStat(4242, line), { pid: 4242, state: 'S', pgid: 4242, startTime: '987654' })
    assert.equal(parseStat(1, 'garbage'), undefined)
  })

  it('decodes 128+n as signal n and everything else as an exit code', () => {
    assert.deepEqual(decodeStatus(0), { exitCode: 0, signal: null })
    assert.deepEqual(decodeStatus(143), { exitCode: null, signal: 'SIGTERM' })
    assert.deepEqual(decodeStatus(127), { exitCode: 127, signal: null })
    assert.deepEqual(decodeStatus(200), { exitCode: 200, signal: null })
  })

  it('reads an exit file only as the one whole line the wrapper writes, never an empty one as exit 0', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mesh-exit-'))
    const file = join(dir, 'exit')
    try {
      assert.equal(await readExitFile(file), undefined, 'no file yet')
      for (const [text, want] of [['', undefined], ['13', undefined], ['x\n', undefined], ['256\n', undefined], ['0\n', { exitCode: 0, signal: null }], ['137\n', { exitCode: null, signal: 'SIGKILL' }]] as const) {
        await writeFile(file, text)
        assert.deepEqual(await readExitFile(file), want, JSON.stringify(text))
      }
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
