import assert from 'node:assert/strict'
import { access, chmod, realpath, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, afterEach, describe, it } from 'node:test'
import { processExecutor } from '../../src/exec/index.js'
import type { ExitStatus, LaunchSpec } from '../../src/exec/index.js'
import { alive, Cleanup, eventually, pidsIn, readText, specIn, taskDir } from './helpers.js'
import type { TaskDir } from './helpers.js'

describe('exec: process executor', { timeout: 60_000 }, () => {
  const executor = processExecutor({ killGraceMs: 2_000 })
  const cleanup = new Cleanup()
  afterEach(async () => { await cleanup.run() })
  after(async () => { await executor.shutdown() })

  async function run (over: Partial<LaunchSpec> = {}, dir?: TaskDir): Promise<{ status: ExitStatus, dir: TaskDir, stdout: string, stderr: string }> {
    const d = dir ?? cleanup.dir(await taskDir())
    const handle = cleanup.handle(await executor.launch(specIn(d, over)))
    const status = await handle.wait()
    return { status, dir: d, stdout: await readText(d.stdout), stderr: await readText(d.stderr) }
  }

  it('is always available', async () => {
    assert.deepEqual(await executor.available(), { ok: true })
    assert.equal(executor.name, 'process')
  })

  it('reports exit code 0 as succeeded, with start and finish times', async () => {
    const before = new Date()
    const { status } = await run({ command: ['true'] })
    assert.equal(status.state, 'succeeded')
    assert.equal(status.exitCode, 0)
    assert.equal(status.signal, null)
    assert.equal(status.error, undefined)
    assert.ok(status.startedAt >= before && status.finishedAt >= status.startedAt)
  })

  it('reports a non-zero exit as failed with the code', async () => {
    const { status } = await run({ command: ['sh', '-c', 'exit 3'] })
    assert.equal(status.state, 'failed')
    assert.equal(status.exitCode, 3)
    assert.equal(status.error, 'exited with code 3')
  })

  it('appends stdout and stderr to their files', async () => {
    const dir = cleanup.dir(await taskDir())
    await writeFile(dir.stdout, 'earlier\n')
    const { stdout, stderr } = await run({ command: ['sh', '-c', 'echo out; echo err >&2; echo out2'] }, dir)
    assert.equal(stdout, 'earlier\nout\nout2\n')
    assert.equal(stderr, 'err\n')
  })

  it('streams large output to the file intact', async () => {
    const bytes = 8 * 1024 * 1024
    const { status, dir } = await run({ command: ['head', '-c', String(bytes), '/dev/zero'] })
    assert.equal(status.state, 'succeeded')
    assert.equal((await stat(dir.stdout)).size, bytes)
  })

  it('gives the task MESH_* and the safe base, and none of the daemon\'s other variables', async () => {
    const leaky = processExecutor({ daemonEnv: { PATH: process.env.PATH, HOME: '/home/mesh', LANG: 'C.UTF-8', USER: 'mesh', AWS_SECRET_ACCESS_KEY: 'leak', LD_PRELOAD: 'nope.so' } })
    const dir = cleanup.dir(await taskDir())
    const handle = cleanup.handle(await leaky.launch(specIn(dir, { taskId: 'task-9', attempt: 3, command: ['env'], env: { FOO: 'bar baz' } })))
    assert.equal((await handle.wait()).state, 'succeeded')
    const env = Object.fromEntries((await readText(dir.stdout)).trim().split('\n').map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]))
    assert.deepEqual(env, {
      PATH: process.env.PATH,
      HOME: '/home/mesh',
      LANG: 'C.UTF-8',
      USER: 'mesh',
      FOO: 'bar baz',
      MESH_TASK_ID: 'task-9',
      MESH_ATTEMPT: '3',
      MESH_NUMA_NODE: ''
    })
  })

  it('does not leak the daemon\'s own environment by default', async () => {
    process.env.MESH_EXEC_TEST_SECRET = 'should-not-leak'
    try {
      const dir = cleanup.dir(await taskDir())
      const handle = cleanup.handle(await processExecutor().launch(specIn(dir, { command: ['env'] })))
      await handle.wait()
      const out = await readText(dir.stdout)
      assert.doesNotMatch(out, /MESH_EXEC_TEST_SECRET|should-not-leak/)
      assert.match(out, /^MESH_TASK_ID=t1$/m)
    } finally {
      delete process.env.MESH_EXEC_TEST_SECRET
    }
  })

  it('runs in the given cwd', async () => {
    const { stdout, dir } = await run({ command: ['pwd'] })
    assert.equal(stdout.trim(), await realpath(dir.work))
  })

  it('never interprets argv through a shell', async () => {
    const dir = cleanup.dir(await taskDir())
    const marker = join(dir.root, 'injected')
    const arg = `$(touch ${marker}); rm -rf ${dir.work} \`touch ${marker}\` *`
    const { status, stdout } = await run({ command: ['echo', arg] }, dir)
    assert.equal(status.state, 'succeeded')
    assert.equal(stdout, `${arg}\n`)
    await assert.rejects(access(marker), { code: 'ENOENT' })
    await access(dir.work)
  })

  it('runs a string command through the shell with shell: true', async () => {
    const { status, stdout } = await run({ shell: true, command: 'echo "$MESH_TASK_ID-$MESH_ATTEMPT" | tr a-z A-Z; exit 4', taskId: 'abc' })
    assert.equal(stdout, 'ABC-1\n')
    assert.equal(status.exitCode, 4)
  })

  it('reports a missing command as failed with "command not found" (127), in the status and the log', async () => {
    const { status, stderr } = await run({ command: ['mesh-no-such-command-xyz', 'arg'] })
    assert.equal(status.state, 'failed')
    assert.equal(status.exitCode, 127)
    assert.equal(status.error, 'command not found: mesh-no-such-command-xyz')
    assert.match(stderr, /^mesh: command not found: mesh-no-such-command-xyz$/m)
  })

  it('reports a relative path that does not exist, and a file that is not executable (126)', async () => {
    const missing = await run({ command: ['./nope.sh'] })
    assert.equal(missing.status.error, 'command not found: ./nope.sh')
    const dir = cleanup.dir(await taskDir())
    await writeFile(join(dir.work, 'script.sh'), '#!/bin/sh\necho hi\n')
    await chmod(join(dir.work, 'script.sh'), 0o644)
    const { status } = await run({ command: ['./script.sh'] }, dir)
    assert.equal(status.state, 'failed')
    assert.equal(status.exitCode, 126)
    assert.equal(status.error, 'permission denied: ./script.sh')
  })

  it('runs an executable relative to the cwd', async () => {
    const dir = cleanup.dir(await taskDir())
    await writeFile(join(dir.work, 'script.sh'), '#!/bin/sh\necho "ran $1"\n', { mode: 0o755 })
    const { status, stdout } = await run({ command: ['./script.sh', 'x'] }, dir)
    assert.equal(status.state, 'succeeded')
    assert.equal(stdout, 'ran x\n')
  })

  it('throws a non-retryable LaunchError for a missing work dir or a string command without shell', async () => {
    const dir = cleanup.dir(await taskDir())
    await assert.rejects(executor.launch(specIn(dir, { cwd: join(dir.root, 'absent') })), { name: 'LaunchError', retryable: false, message: /work dir .*absent does not exist/ })
    await assert.rejects(executor.launch(specIn(dir, { command: 'echo hi' })), { name: 'LaunchError', retryable: false })
  })

  it('throws a LaunchError when a log file cannot be opened', async () => {
    const dir = cleanup.dir(await taskDir())
    await assert.rejects(executor.launch(specIn(dir, { stdout: join(dir.root, 'no', 'such', 'dir.log') })), { name: 'LaunchError', retryable: false, message: /cannot open stdout log/ })
  })

  it('sends signal() to the task, which then ends killed by it', async () => {
    const dir = cleanup.dir(await taskDir())
    const handle = cleanup.handle(await executor.launch(specIn(dir, { command: ['sleep', '1000'] })))
    assert.ok(handle.pid !== undefined && alive(handle.pid))
    handle.signal('SIGKILL')
    const status = await handle.wait()
    assert.equal(status.state, 'failed')
    assert.equal(status.exitCode, null)
    assert.equal(status.signal, 'SIGKILL')
    assert.equal(status.error, 'killed by signal SIGKILL')
    handle.signal('SIGTERM') // a no-op once ended
  })

  it('kills what the task leaves behind in its process group when it exits', async () => {
    const dir = cleanup.dir(await taskDir())
    const pidFile = join(dir.root, 'pids')
    const { status } = await run({ command: ['sh', '-c', `sleep 1000 & echo $! > ${pidFile}`] }, dir)
    const pids = await pidsIn(pidFile)
    cleanup.pids(pids)
    assert.equal(status.state, 'succeeded')
    assert.equal(pids.length, 1)
    await eventually(() => pids.every((pid) => !alive(pid)), 'the left-behind sleep to be killed')
  })
})
