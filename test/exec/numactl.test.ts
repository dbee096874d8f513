import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { afterEach, describe, it } from 'node:test'
import { processExecutor } from '../../src/exec/index.js'
import { findExecutable } from '../../src/node/capabilities/index.js'
import { Cleanup, readText, specIn, taskDir } from './helpers.js'

const NUMACTL = await findExecutable('numactl', process.env.PATH ?? '')
const SKIP = NUMACTL === undefined ? 'numactl is not installed on this machine (apt-get install numactl to run it)' : false

/** The first online NUMA node of this machine (0 on almost every one). */
async function firstNode (): Promise<number> {
  const online = await readFile('/sys/devices/system/node/online', 'utf8').catch(() => '0')
  return Number.parseInt(online, 10) || 0
}

describe('exec: numactl binding', { timeout: 30_000 }, () => {
  const cleanup = new Cleanup()
  afterEach(async () => { await cleanup.run() })

  it('reports "command not found: numactl" when the spec asks for numactl and the host has none', async () => {
    const dir = cleanup.dir(await taskDir())
    const executor = processExecutor({ daemonEnv: { PATH: dir.work } })
    const handle = await executor.launch(specIn(dir, { command: ['/bin/echo', 'hi'], numaNode: 0, numactl: true }))
    const status = await handle.wait()
    assert.equal(status.state, 'failed')
    assert.equal(status.exitCode, 127)
    assert.equal(status.error, 'command not found: numactl')
  })

  it('runs the task bound to the node: numactl --show inside reports it', { skip: SKIP }, async () => {
    const node = await firstNode()
    const dir = cleanup.dir(await taskDir())
    const executor = processExecutor()
    cleanup.hook(async () => { await executor.shutdown() })
    const handle = cleanup.handle(await executor.launch(specIn(dir, {
      command: ['sh', '-c', 'numactl --show; echo "MESH_NUMA_NODE=$MESH_NUMA_NODE"'],
      numaNode: node,
      numactl: true
    })))
    const status = await handle.wait()
    const out = await readText(dir.stdout)
    assert.equal(status.state, 'succeeded', `${out}${await readText(dir.stderr)}`)
    assert.match(out, new RegExp(`^nodebind: ${node}\\s*$`, 'm'))
    assert.match(out, new RegExp(`^membind: ${node}\\s*$`, 'm'))
    assert.match(out, new RegExp(`^MESH_NUMA_NODE=${node}$`, 'm'))
  })

  it('reports a missing task command the same way behind numactl', { skip: SKIP }, async () => {
    const dir = cleanup.dir(await taskDir())
    const handle = await processExecutor().launch(specIn(dir, { command: ['mesh-no-such-command-xyz'], numaNode: await firstNode(), numactl: true }))
    const status = await handle.wait()
    assert.equal(status.exitCode, 127)
    assert.equal(status.error, 'command not found: mesh-no-such-command-xyz')
  })
})
