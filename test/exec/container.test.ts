import assert from 'node:assert/strict'
import { chmod, mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, describe, it } from 'node:test'
import { buildContainerArgv, containerAvailability, containerCliEnv, containerExecutor, containerName, hostProbe } from '../../src/exec/index.js'
import { Cleanup, eventually, fileContains, readText, specIn, taskDir } from './helpers.js'
import { fakeProbe } from './fakes.js'

/** this host, for the real-run test: needs an engine and an image the operator names */
const here = await containerExecutor().available()
const image = process.env.MESH_TEST_CONTAINER_IMAGE
const skip = !here.ok ? `no container engine here: ${here.reason}` : image === undefined ? 'set MESH_TEST_CONTAINER_IMAGE (e.g. alpine:3) to run a real container' : false

const spec = {
  taskId: 'abc', attempt: 1, command: ['python3', 'run.py'], shell: false, env: { FOO: 'bar' },
  cwd: '/home/mesh/tasks/abc/work', numaNode: null, cores: 2, memoryMB: 512, image: 'python:3.12-slim'
}

describe('exec: container argv', () => {
  it('builds run --rm --name with limits, -e names, the work dir mount and the image', () => {
    assert.deepEqual(buildContainerArgv(spec, { runtime: 'docker' }), [
      'docker', 'run', '--rm', '--name', 'mesh-abc-1',
      '--label', 'mesh.task=abc', '--label', 'mesh.attempt=1',
      '--cpus', '2', '--memory', '512m',
      '-e', 'FOO', '-e', 'MESH_TASK_ID', '-e', 'MESH_ATTEMPT', '-e', 'MESH_NUMA_NODE',
      '-v', '/home/mesh/tasks/abc/work:/work', '-w', '/work',
      'python:3.12-slim', 'python3', 'run.py'
    ])
  })

  it('pins a NUMA node with --cpuset-cpus/--cpuset-mems, runs shell commands with /bin/sh -c', () => {
    const argv = buildContainerArgv({ ...spec, numaNode: 1, cores: 0, memoryMB: 0, shell: true, command: 'echo $FOO' }, { runtime: 'podman', nodeCpus: { 0: '0-3', 1: '4-7' } })
    assert.equal(argv[0], 'podman')
    assert.deepEqual(argv.slice(argv.indexOf('mesh.attempt=1') + 1, argv.indexOf('-e')), ['--cpuset-cpus', '4-7', '--cpuset-mems', '1'])
    assert.deepEqual(argv.slice(-4), ['python:3.12-slim', '/bin/sh', '-c', 'echo $FOO'])
    const unknown = buildContainerArgv({ ...spec, numaNode: 1 }, { runtime: 'docker' })
    assert.ok(!unknown.includes('--cpuset-cpus') && unknown.includes('--cpuset-mems'))
  })

  it('passes variables the CLI needs for itself with their value', () => {
    const argv = buildContainerArgv({ ...spec, env: { PATH: '/opt/bin', DOCKER_HOST: 'x' } }, { runtime: 'docker' })
    assert.ok(argv.includes('PATH=/opt/bin') && argv.includes('DOCKER_HOST=x'), argv.join(' '))
  })

  it('rejects a spec without an image, a flag-like image and a cwd with ":"', () => {
    assert.throws(() => buildContainerArgv({ ...spec, image: undefined }, { runtime: 'docker' }), { name: 'LaunchError', retryable: false, message: /needs an image/ })
    assert.throws(() => buildContainerArgv({ ...spec, image: '--privileged' }, { runtime: 'docker' }), { name: 'LaunchError', retryable: false })
    assert.throws(() => buildContainerArgv({ ...spec, cwd: '/a:b' }, { runtime: 'docker' }), { name: 'LaunchError', retryable: false, message: /contains ':'/ })
  })

  it('makes valid container names', () => {
    assert.equal(containerName('a/b c', 2), 'mesh-a_b_c-2')
  })

  it('gives the CLI the task env plus what it needs to find its engine, nothing else', () => {
    const env = containerCliEnv({ env: { FOO: 'bar', PATH: '/opt/bin' }, taskId: 't', attempt: 1, numaNode: 0 },
      { PATH: '/usr/bin', HOME: '/root', DOCKER_HOST: 'unix:///d.sock', SECRET: 'no' })
    assert.deepEqual(env, { PATH: '/usr/bin', HOME: '/root', DOCKER_HOST: 'unix:///d.sock', FOO: 'bar', MESH_TASK_ID: 't', MESH_ATTEMPT: '1', MESH_NUMA_NODE: '0' })
  })
})

describe('exec: container availability', () => {
  it('needs a runtime on PATH', async () => {
    assert.deepEqual(await containerAvailability(fakeProbe({}), { timeoutMs: 100 }),
      { ok: false, reason: 'no container runtime on PATH (looked for podman, docker)' })
  })

  it('needs the engine to answer `info`, not just the CLI', async () => {
    const probe = fakeProbe({
      programs: ['docker'],
      commands: { 'docker info': { code: 1, stdout: 'Client:\n Version: 27\n', stderr: 'Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?\n' } }
    })
    assert.deepEqual(await containerAvailability(probe, { timeoutMs: 100 }), {
      ok: false,
      reason: 'docker is installed but its engine does not answer `docker info` (exit code 1: Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?)'
    })
  })

  it('prefers podman, falls back to docker, reports a hung engine', async () => {
    assert.deepEqual(await containerAvailability(fakeProbe({ programs: ['podman', 'docker'], commands: { 'podman info': {}, 'docker info': {} } }), { timeoutMs: 100 }), { ok: true, runtime: 'podman' })
    const probe = fakeProbe({ programs: ['podman', 'docker'], commands: { 'podman info': { code: null, error: 'timed out after 100 ms' }, 'docker info': {} } })
    assert.deepEqual(await containerAvailability(probe, { timeoutMs: 100 }), { ok: true, runtime: 'docker' })
    const none = fakeProbe({ programs: ['podman'], commands: { 'podman info': { code: null, error: 'timed out after 100 ms' } } })
    assert.deepEqual(await containerAvailability(none, { timeoutMs: 100 }), { ok: false, reason: 'podman is installed but its engine does not answer `podman info` (timed out after 100 ms)' })
  })
})

describe('exec: container executor', { timeout: 30_000 }, () => {
  const cleanup = new Cleanup()
  afterEach(async () => { await cleanup.run() })

  it('answers available() on this host with ok or a one-line reason', async () => {
    const availability = await containerExecutor().available()
    if (!availability.ok) {
      assert.ok(availability.reason.length > 0 && !availability.reason.includes('\n'), availability.reason)
      console.log(`# container executor unavailable here: ${availability.reason}`)
    }
  })

  it('refuses to launch without a working engine, with the reason (non-retryable)', async () => {
    const executor = containerExecutor({ probe: fakeProbe({ programs: ['docker'], commands: { 'docker info': { code: 1, stderr: 'Cannot connect' } } }) })
    const dir = cleanup.dir(await taskDir())
    await assert.rejects(executor.launch(specIn(dir, { image: 'alpine' })), { name: 'LaunchError', retryable: false, message: /container executor is unavailable: docker is installed but/ })
  })

  it('runs the runtime CLI under the process mechanics and forwards signals with `kill`', async () => {
    // A stand-in `docker` that records its arguments and environment instead of talking to an engine.
    const dir = cleanup.dir(await taskDir())
    const bin = join(dir.root, 'bin')
    const calls = join(dir.root, 'calls')
    await mkdir(bin)
    await writeFile(join(bin, 'docker'), [
      '#!/bin/sh',
      'case "$1" in',
      '  info) exit 0 ;;',
      `  kill) echo "$*" >> ${calls}; exit 0 ;;`,
      `  run) echo "$*" >> ${calls}; echo "cli sees MESH_TASK_ID=$MESH_TASK_ID FOO=$FOO"; echo started; exec sleep 1000 ;;`,
      'esac',
      'exit 2'
    ].join('\n'))
    await chmod(join(bin, 'docker'), 0o755)
    const path = `${bin}:/usr/bin:/bin`
    const executor = containerExecutor({ runtime: 'docker', probe: hostProbe(path), daemonEnv: { PATH: path, SECRET: 'no' }, killGraceMs: 1_000 })
    cleanup.hook(async () => { await executor.shutdown() })
    assert.deepEqual(await executor.available(), { ok: true })
    assert.equal(await executor.runtime(), 'docker')

    const handle = cleanup.handle(await executor.launch(specIn(dir, { taskId: 'c1', image: 'alpine:3', command: ['echo', 'hi'], env: { FOO: 'bar' } })))
    await fileContains(dir.stdout, 'started')
    assert.match(await readText(dir.stdout), /cli sees MESH_TASK_ID=c1 FOO=bar/)
    const status = await handle.cancel('test')
    assert.equal(status.state, 'cancelled')
    assert.equal(status.exitCode, 130)
    await eventually(async () => (await readText(calls)).includes('kill --signal SIGTERM mesh-c1-1'), 'the SIGTERM to be forwarded to the container')
    const lines = (await readText(calls)).split('\n')
    assert.match(lines[0] ?? '', /^run --rm --name mesh-c1-1 .* -e FOO -e MESH_TASK_ID .* alpine:3 echo hi$/)
  })

  it('runs a real container with the work dir mounted', { skip }, async () => {
    const executor = containerExecutor()
    cleanup.hook(async () => { await executor.shutdown() })
    const dir = cleanup.dir(await taskDir())
    await writeFile(join(dir.work, 'in.txt'), 'from the host\n')
    const handle = cleanup.handle(await executor.launch(specIn(dir, { image, shell: true, command: 'cat in.txt; echo "id=$MESH_TASK_ID"; exit 5' })))
    const status = await handle.wait()
    assert.equal(status.exitCode, 5, await readText(dir.stderr))
    assert.equal(await readText(dir.stdout), 'from the host\nid=t1\n')
  })
})
