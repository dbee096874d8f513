import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { buildArgv } from '../../src/exec/index.js'
import { bindsWithNumactl, numactlPrefix, taskArgv } from '../../src/exec/command.js'
import { buildTaskEnv } from '../../src/exec/env.js'
import { startTimer } from '../../src/exec/timer.js'
import { MAX_TIMER_MS } from '../../src/exec/constants.js'

const base = { shell: false, numaNode: null, numactl: false }

function launchError (name: string, retryable: boolean, message?: RegExp) {
  return (err: Error & { retryable?: boolean }): boolean => {
    assert.equal(err.name, name)
    assert.equal(err.retryable, retryable)
    if (message !== undefined) assert.match(err.message, message)
    return true
  }
}

describe('exec: buildArgv', () => {
  it('passes an argv through untouched, without a shell', () => {
    assert.deepEqual(buildArgv({ ...base, command: ['echo', '$(touch /tmp/x); rm', '*'] }), ['echo', '$(touch /tmp/x); rm', '*'])
  })

  it('runs a string command through /bin/sh -c only with shell: true', () => {
    assert.deepEqual(buildArgv({ ...base, shell: true, command: 'echo hi | wc -c' }), ['/bin/sh', '-c', 'echo hi | wc -c'])
    assert.throws(() => buildArgv({ ...base, command: 'echo hi' }), launchError('LaunchError', false, /needs "shell": true/))
  })

  it('joins an argv with spaces when shell is true, as child_process does', () => {
    assert.deepEqual(buildArgv({ ...base, shell: true, command: ['echo', '$HOME'] }), ['/bin/sh', '-c', 'echo $HOME'])
  })

  it('rejects empty commands and NUL bytes as non-retryable', () => {
    assert.throws(() => buildArgv({ ...base, command: [] }), launchError('LaunchError', false, /empty/))
    assert.throws(() => buildArgv({ ...base, command: [''] }), launchError('LaunchError', false, /empty/))
    assert.throws(() => buildArgv({ ...base, shell: true, command: '  ' }), launchError('LaunchError', false, /empty/))
    assert.throws(() => buildArgv({ ...base, command: ['echo', 'a\0b'] }), launchError('LaunchError', false, /command\[1\] contains a NUL/))
  })

  it('prefixes numactl --cpunodebind=N --membind=N -- when a node is chosen and numactl is there', () => {
    assert.deepEqual(buildArgv({ ...base, numaNode: 1, numactl: true, command: ['echo', 'hi'] }),
      ['numactl', '--cpunodebind=1', '--membind=1', '--', 'echo', 'hi'])
    assert.deepEqual(buildArgv({ ...base, numaNode: 0, numactl: true, shell: true, command: 'echo hi' }),
      ['numactl', '--cpunodebind=0', '--membind=0', '--', '/bin/sh', '-c', 'echo hi'])
  })

  it('does not bind without numactl or without a node', () => {
    assert.deepEqual(buildArgv({ ...base, numaNode: 1, numactl: false, command: ['echo'] }), ['echo'])
    assert.deepEqual(buildArgv({ ...base, numaNode: null, numactl: true, command: ['echo'] }), ['echo'])
    assert.equal(bindsWithNumactl({ numaNode: 0, numactl: true }), true)
    assert.equal(bindsWithNumactl({ numaNode: null, numactl: true }), false)
  })

  it('rejects an invalid NUMA node', () => {
    assert.throws(() => numactlPrefix(-1), launchError('LaunchError', false, /invalid NUMA node -1/))
    assert.throws(() => numactlPrefix(1.5), launchError('LaunchError', false))
  })

  it('taskArgv copies, so callers cannot mutate the spec', () => {
    const command = ['echo', 'a']
    const argv = taskArgv({ command, shell: false })
    argv.push('b')
    assert.deepEqual(command, ['echo', 'a'])
  })
})

describe('exec: buildTaskEnv', () => {
  const daemon = { PATH: '/usr/bin:/bin', HOME: '/home/d', LANG: 'C.UTF-8', USER: 'd', AWS_SECRET_ACCESS_KEY: 'x', LD_PRELOAD: '/evil.so', SSH_AUTH_SOCK: '/s' }

  it('keeps only PATH, HOME, LANG, USER of the daemon, adds the task env and MESH_*', () => {
    const env = buildTaskEnv({ env: { FOO: 'bar' }, taskId: 'abc', attempt: 2, numaNode: 1 }, daemon)
    assert.deepEqual(env, { PATH: '/usr/bin:/bin', HOME: '/home/d', LANG: 'C.UTF-8', USER: 'd', FOO: 'bar', MESH_TASK_ID: 'abc', MESH_ATTEMPT: '2', MESH_NUMA_NODE: '1' })
  })

  it('exports MESH_NUMA_NODE as empty without a node, and a default PATH', () => {
    const env = buildTaskEnv({ env: {}, taskId: 'abc', attempt: 1, numaNode: null }, {})
    assert.equal(env.MESH_NUMA_NODE, '')
    assert.match(env.PATH ?? '', /\/usr\/bin/)
    assert.equal(env.HOME, undefined)
  })

  it('lets the task override PATH but never MESH_*', () => {
    const env = buildTaskEnv({ env: { PATH: '/opt/bin', MESH_TASK_ID: 'forged' }, taskId: 'real', attempt: 1, numaNode: null }, daemon)
    assert.equal(env.PATH, '/opt/bin')
    assert.equal(env.MESH_TASK_ID, 'real')
  })

  it('rejects names with = or NUL and values with NUL', () => {
    assert.throws(() => buildTaskEnv({ env: { 'A=B': 'x' }, taskId: 't', attempt: 1, numaNode: null }, {}), launchError('LaunchError', false, /invalid environment variable name/))
    assert.throws(() => buildTaskEnv({ env: { '': 'x' }, taskId: 't', attempt: 1, numaNode: null }, {}), launchError('LaunchError', false))
    assert.throws(() => buildTaskEnv({ env: { A: 'x\0y' }, taskId: 't', attempt: 1, numaNode: null }, {}), launchError('LaunchError', false, /NUL/))
  })
})

describe('exec: startTimer', () => {
  it('never fires for 0, Infinity or NaN', async () => {
    let fired = 0
    const stops = [0, -5, Infinity, Number.NaN].map((ms) => startTimer(ms, () => { fired++ }))
    await new Promise((resolve) => setTimeout(resolve, 20))
    stops.forEach((stop) => { stop() })
    assert.equal(fired, 0)
  })

  it('does not fire at once for delays beyond what setTimeout holds', async () => {
    let fired = false
    const stop = startTimer(MAX_TIMER_MS * 3, () => { fired = true })
    await new Promise((resolve) => setTimeout(resolve, 20))
    stop()
    assert.equal(fired, false)
  })

  it('fires once and can be cancelled', async () => {
    let fired = 0
    startTimer(5, () => { fired++ })
    const stop = startTimer(5, () => { fired += 10 })
    stop()
    await new Promise((resolve) => setTimeout(resolve, 30))
    assert.equal(fired, 1)
  })
})
