import assert from 'node:assert/strict'
import { afterEach, describe, it } from 'node:test'
import { buildSystemdArgv, systemdAvailability, systemdExecutor, systemdUnitName } from '../../src/exec/index.js'
import { Cleanup, readText, specIn, taskDir } from './helpers.js'
import { fakeProbe } from './fakes.js'

const spec = { taskId: 'abc123', attempt: 2, command: ['echo', 'hi'], shell: false, numaNode: null, numactl: false, cores: 2, memoryMB: 1024 }
/** this host, for the real-run test (skipped with the reason where systemd is unusable) */
const here = await systemdExecutor().available()
const booted = { programs: ['systemd-run', 'systemctl'], paths: ['/run/systemd/system'] }

describe('exec: systemd argv', () => {
  it('wraps the argv in a transient scope with memory and CPU limits', () => {
    assert.deepEqual(buildSystemdArgv(spec), [
      'systemd-run', '--scope', '--quiet', '--collect',
      '-p', 'MemoryMax=1024M', '-p', 'CPUQuota=200%',
      '--unit', 'mesh-abc123-2', '--', 'echo', 'hi'
    ])
  })

  it('adds --user for the user manager, leaves out limits of 0, keeps numactl and the shell inside', () => {
    assert.deepEqual(buildSystemdArgv({ ...spec, cores: 0, memoryMB: 0, numaNode: 1, numactl: true, shell: true, command: 'echo $HOME' }, { user: true }), [
      'systemd-run', '--user', '--scope', '--quiet', '--collect',
      '--unit', 'mesh-abc123-2', '--',
      'numactl', '--cpunodebind=1', '--membind=1', '--', '/bin/sh', '-c', 'echo $HOME'
    ])
  })

  it('rounds fractional limits up', () => {
    const argv = buildSystemdArgv({ ...spec, cores: 0.5, memoryMB: 100.2 })
    assert.ok(argv.includes('CPUQuota=50%') && argv.includes('MemoryMax=101M'), argv.join(' '))
  })

  it('escapes task ids into valid unit names', () => {
    assert.equal(systemdUnitName('a/b c', 1), 'mesh-a\\x2fb\\x20c-1')
    assert.equal(systemdUnitName('01HZ-x_y.z:1', 3), 'mesh-01HZ-x_y.z:1-3')
    assert.equal(systemdUnitName('é', 1), 'mesh-\\xc3\\xa9-1')
  })
})

describe('exec: systemd availability', () => {
  it('needs systemd-run on PATH', async () => {
    assert.deepEqual(await systemdAvailability(fakeProbe({}), { user: false, timeoutMs: 100 }),
      { ok: false, reason: 'systemd-run is not on PATH' })
  })

  it('needs systemd as the init system, naming PID 1', async () => {
    const probe = fakeProbe({ programs: ['systemd-run'], files: { '/proc/1/comm': 'tini\n' } })
    assert.deepEqual(await systemdAvailability(probe, { user: false, timeoutMs: 100 }),
      { ok: false, reason: 'systemd is not the init system (PID 1 is tini): /run/systemd/system is missing' })
  })

  it('needs the manager to answer is-system-running', async () => {
    const probe = fakeProbe({ ...booted, commands: { 'systemctl --user is-system-running': { code: 1, stdout: 'offline\n', stderr: 'Failed to connect to bus: No medium found\n' } } })
    assert.deepEqual(await systemdAvailability(probe, { user: true, timeoutMs: 100 }), {
      ok: false,
      reason: 'the user systemd manager is not usable: `systemctl --user is-system-running` says offline (Failed to connect to bus: No medium found)'
    })
    const silent = fakeProbe({ ...booted, commands: { 'systemctl is-system-running': { code: null, error: 'timed out after 100 ms' } } })
    assert.deepEqual(await systemdAvailability(silent, { user: false, timeoutMs: 100 }), {
      ok: false,
      reason: 'systemd is not usable: `systemctl is-system-running` says timed out after 100 ms'
    })
  })

  it('accepts running and degraded managers', async () => {
    for (const state of ['running', 'degraded']) {
      const probe = fakeProbe({ ...booted, commands: { 'systemctl is-system-running': { code: state === 'running' ? 0 : 1, stdout: `${state}\n` } } })
      assert.deepEqual(await systemdAvailability(probe, { user: false, timeoutMs: 100 }), { ok: true })
    }
  })
})

describe('exec: systemd executor', { timeout: 30_000 }, () => {
  const cleanup = new Cleanup()
  afterEach(async () => { await cleanup.run() })

  it('refuses to launch where systemd is unusable, with the reason (non-retryable)', async () => {
    const executor = systemdExecutor({ probe: fakeProbe({ programs: ['systemd-run'] }) })
    const dir = cleanup.dir(await taskDir())
    await assert.rejects(executor.launch(specIn(dir)), { name: 'LaunchError', retryable: false, message: /systemd executor is unavailable: systemd is not the init system/ })
  })

  it('answers available() on this host with ok or a one-line reason', async () => {
    const availability = await systemdExecutor().available()
    if (!availability.ok) {
      assert.ok(availability.reason.length > 0 && !availability.reason.includes('\n'), availability.reason)
      console.log(`# systemd executor unavailable here: ${availability.reason}`)
    }
  })

  it('runs a task in a transient scope on this host', { skip: here.ok ? false : `systemd is not usable here: ${here.reason}` }, async () => {
    const executor = systemdExecutor()
    cleanup.hook(async () => { await executor.shutdown() })
    const dir = cleanup.dir(await taskDir())
    const handle = cleanup.handle(await executor.launch(specIn(dir, { taskId: `exec-test-${process.pid}`, command: ['sh', '-c', 'cat /proc/self/cgroup; echo "id=$MESH_TASK_ID"'] })))
    const status = await handle.wait()
    const out = await readText(dir.stdout)
    assert.equal(status.state, 'succeeded', out + await readText(dir.stderr))
    assert.match(out, new RegExp(`mesh-exec-test-${process.pid}-1\\.scope`))
  })
})
