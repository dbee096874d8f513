import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { createSystemReader, runCommand } from '../../../src/node/capabilities/index.js'
import { sysfsFixture } from './fixtures.js'

describe('createSystemReader', () => {
  const reader = createSystemReader(sysfsFixture('two-node'))

  it('joins absolute paths to its root', async () => {
    assert.equal(await reader.readFile('/sys/devices/system/node/online'), '0-1\n')
    assert.deepEqual(await reader.readdir('/sys/devices/system/node'), ['node0', 'node1', 'online'])
    assert.equal(await reader.exists('/proc/meminfo'), true)
    assert.equal(await reader.exists('/proc/cpuinfo'), false)
  })

  it('reports its resolved root; the default is the real machine', () => {
    assert.equal(reader.root, sysfsFixture('two-node'))
    assert.equal(createSystemReader().root, '/')
  })

  it('refuses relative paths and paths that climb out of the root', async () => {
    await assert.rejects(reader.readFile('proc/meminfo'), /must be absolute/)
    await assert.rejects(reader.readFile('/sys/../../../etc/passwd'), /without '\.\.'/)
    await assert.rejects(reader.exists('/../etc'), /without '\.\.'/)
  })
})

describe('runCommand', () => {
  it('returns the exit code and stdout of a program', async () => {
    const result = await runCommand(process.execPath, ['-e', 'process.stdout.write("hi"); process.exitCode = 3'], { timeoutMs: 10_000 })
    assert.deepEqual(result, { code: 3, stdout: 'hi' })
  })

  it('gives code null, not a throw, for a missing program', async () => {
    const result = await runCommand('/nonexistent/mesh-no-such-program', [], { timeoutMs: 1_000 })
    assert.equal(result.code, null)
  })

  it('gives code null when the program outlives its timeout', async () => {
    const result = await runCommand(process.execPath, ['-e', 'setTimeout(() => {}, 10_000)'], { timeoutMs: 200 })
    assert.equal(result.code, null)
  })
})
