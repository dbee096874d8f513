import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { createSystemReader, readCapabilities } from '../../../src/node/capabilities/index.js'
import type { CommandRunner } from '../../../src/node/capabilities/index.js'
import { memoryReader, sysfsFixture } from './fixtures.js'
import type { SysfsFixture } from './fixtures.js'

/** Fails the test if anything tries to run a program: fixtures are searched with an empty PATH. */
const noRun: CommandRunner = (file) => Promise.reject(new Error(`unexpected run of ${file}`))

async function readFixture (name: SysfsFixture): ReturnType<typeof readCapabilities> {
  return await readCapabilities({ reader: createSystemReader(sysfsFixture(name)), run: noRun, path: '' })
}

describe('readCapabilities on fixtures', () => {
  it('one-node: one node holding every cpu and all memory', async () => {
    assert.deepEqual(await readFixture('one-node'), {
      cores: 4,
      memoryMB: 7857,
      numaNodes: [{ id: 0, cpus: [0, 1, 2, 3], memoryMB: 7857 }],
      gpus: [],
      numactl: false
    })
  })

  it('two-node: 8 cpus split 0-3 / 4-7, 16000 MB per node', async () => {
    assert.deepEqual(await readFixture('two-node'), {
      cores: 8,
      memoryMB: 32000,
      numaNodes: [
        { id: 0, cpus: [0, 1, 2, 3], memoryMB: 16000 },
        { id: 1, cpus: [4, 5, 6, 7], memoryMB: 16000 }
      ],
      gpus: [],
      numactl: false
    })
  })

  it('no-numa: without sys/devices/system/node, one node 0 with all online cpus and total memory', async () => {
    const caps = await readFixture('no-numa')
    assert.equal(caps.cores, 2)
    assert.equal(caps.memoryMB, 4058)
    assert.deepEqual(caps.numaNodes, [{ id: 0, cpus: [0, 1], memoryMB: 4058 }])
  })

  it('memory-only-node: keeps the node without cpus', async () => {
    const caps = await readFixture('memory-only-node')
    assert.equal(caps.cores, 4)
    assert.deepEqual(caps.numaNodes, [
      { id: 0, cpus: [0, 1, 2, 3], memoryMB: 8000 },
      { id: 1, cpus: [], memoryMB: 4000 }
    ])
  })
})

describe('readCapabilities on odd sysfs', () => {
  const meminfo = 'MemTotal: 2048000 kB\n'
  const node = (id: number, cpulist: string): Record<string, string> => ({
    [`/sys/devices/system/node/node${id}/cpulist`]: cpulist,
    [`/sys/devices/system/node/node${id}/meminfo`]: `Node ${id} MemTotal: 1024000 kB\n`
  })

  it('finds nodes from nodeN directories when node/online is missing, sorted by id', async () => {
    const reader = memoryReader({
      '/sys/devices/system/cpu/online': '0-3\n',
      '/proc/meminfo': meminfo,
      '/sys/devices/system/node/possible': '0-1\n',
      ...node(1, '2-3\n'),
      ...node(0, '0-1\n')
    })
    const caps = await readCapabilities({ reader, run: noRun, path: '' })
    assert.deepEqual(caps.numaNodes.map((n) => [n.id, n.cpus]), [[0, [0, 1]], [1, [2, 3]]])
  })

  it('leaves offline cpus out of their node', async () => {
    const reader = memoryReader({
      '/sys/devices/system/cpu/online': '0-2\n',
      '/proc/meminfo': meminfo,
      '/sys/devices/system/node/online': '0\n',
      ...node(0, '0-3\n')
    })
    const caps = await readCapabilities({ reader, run: noRun, path: '' })
    assert.equal(caps.cores, 3)
    assert.deepEqual(caps.numaNodes[0]?.cpus, [0, 1, 2])
  })

  it('names the file when a cpulist is garbage', async () => {
    const reader = memoryReader({
      '/sys/devices/system/cpu/online': '0-3\n',
      '/proc/meminfo': meminfo,
      '/sys/devices/system/node/online': '0\n',
      ...node(0, 'zero to three\n')
    })
    await assert.rejects(readCapabilities({ reader, run: noRun, path: '' }), (err: Error) => {
      assert.equal(err.name, 'InvalidFileError')
      assert.match(err.message, /node0\/cpulist.*"zero to three"/)
      return true
    })
  })

  it('rejects a node meminfo without its MemTotal line', async () => {
    const reader = memoryReader({
      '/sys/devices/system/cpu/online': '0\n',
      '/proc/meminfo': meminfo,
      '/sys/devices/system/node/online': '0\n',
      '/sys/devices/system/node/node0/cpulist': '0\n',
      '/sys/devices/system/node/node0/meminfo': 'Node 0 MemFree: 1 kB\n'
    })
    await assert.rejects(readCapabilities({ reader, run: noRun, path: '' }), /node0\/meminfo: no "Node 0 MemTotal: N kB" line/)
  })

  it('rejects a node listed online without a directory', async () => {
    const reader = memoryReader({
      '/sys/devices/system/cpu/online': '0\n',
      '/proc/meminfo': meminfo,
      '/sys/devices/system/node/online': '0-1\n',
      ...node(0, '0\n')
    })
    await assert.rejects(readCapabilities({ reader, run: noRun, path: '' }), /node 1 is listed online but has no directory/)
  })

  it('does not invent cpus for a fixture without cpu/online', async () => {
    const reader = memoryReader({ '/proc/meminfo': meminfo }, '/tmp/fixture')
    await assert.rejects(readCapabilities({ reader, run: noRun, path: '' }), (err: Error) => {
      assert.equal(err.name, 'InvalidFileError')
      assert.match(err.message, /cpu\/online: missing below \/tmp\/fixture/)
      return true
    })
  })

  it('falls back to os.availableParallelism() only on the real root', async () => {
    const reader = memoryReader({ '/proc/meminfo': meminfo }, '/')
    const caps = await readCapabilities({ reader, run: noRun, path: '' })
    assert.ok(caps.cores >= 1)
    assert.deepEqual(caps.numaNodes[0]?.cpus.length, caps.cores)
  })
})

describe('readCapabilities on this machine', () => {
  it('does not throw and returns sane values', async () => {
    const caps = await readCapabilities()
    assert.ok(Number.isInteger(caps.cores) && caps.cores >= 1, `cores ${caps.cores}`)
    assert.ok(Number.isInteger(caps.memoryMB) && caps.memoryMB > 0, `memoryMB ${caps.memoryMB}`)
    assert.ok(caps.numaNodes.length >= 1)
    const ids = caps.numaNodes.map((n) => n.id)
    assert.deepEqual(ids, [...ids].sort((a, b) => a - b))
    const cpus = caps.numaNodes.flatMap((n) => n.cpus)
    assert.equal(new Set(cpus).size, cpus.length, 'a cpu belongs to one node')
    assert.ok(cpus.length <= caps.cores)
    assert.ok(Array.isArray(caps.gpus))
    assert.equal(typeof caps.numactl, 'boolean')
  })
})
