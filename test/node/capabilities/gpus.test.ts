import assert from 'node:assert/strict'
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { createSystemReader, parseNvidiaSmiCsv, readCapabilities } from '../../../src/node/capabilities/index.js'
import type { CommandRunner } from '../../../src/node/capabilities/index.js'
import { sysfsFixture } from './fixtures.js'

const TWO_A100 = [
  '0, NVIDIA A100-SXM4-40GB, 40960, GPU-4e3f5a1c-9d2b-11ee-8c90-0242ac120002',
  '1, NVIDIA A100-SXM4-40GB, 40960, GPU-5f4a6b2d-9d2b-11ee-8c90-0242ac120002',
  ''
].join('\n')

describe('parseNvidiaSmiCsv', () => {
  it('parses index, name, memory and uuid', () => {
    assert.deepEqual(parseNvidiaSmiCsv(TWO_A100), [
      { index: 0, name: 'NVIDIA A100-SXM4-40GB', memoryMB: 40960, uuid: 'GPU-4e3f5a1c-9d2b-11ee-8c90-0242ac120002' },
      { index: 1, name: 'NVIDIA A100-SXM4-40GB', memoryMB: 40960, uuid: 'GPU-5f4a6b2d-9d2b-11ee-8c90-0242ac120002' }
    ])
  })

  it('handles CRLF, blank lines and out-of-order indexes', () => {
    const gpus = parseNvidiaSmiCsv('\r\n1, Tesla T4, 15360, GPU-b\r\n0, Tesla T4, 15360, GPU-a\r\n')
    assert.deepEqual(gpus.map((g) => [g.index, g.uuid]), [[0, 'GPU-a'], [1, 'GPU-b']])
  })

  it('keeps a name that contains a comma', () => {
    assert.equal(parseNvidiaSmiCsv('0, Acme GPU, rev 2, 8192, GPU-x\n')[0]?.name, 'Acme GPU, rev 2')
  })

  it('keeps a GPU whose memory or uuid is [N/A]', () => {
    assert.deepEqual(parseNvidiaSmiCsv('0, NVIDIA GH200 480GB, [N/A], [N/A]\n'), [
      { index: 0, name: 'NVIDIA GH200 480GB', memoryMB: 0 }
    ])
  })

  it('skips lines that are not GPU rows', () => {
    const out = 'NVIDIA-SMI has failed because it could not communicate with the NVIDIA driver.\n' +
      'x, bad, 1, GPU-z\n0, Tesla T4, lots, GPU-y\n2, Tesla T4, 15360, GPU-ok\n'
    assert.deepEqual(parseNvidiaSmiCsv(out).map((g) => g.index), [2])
  })

  it('returns [] for empty output', () => {
    assert.deepEqual(parseNvidiaSmiCsv(''), [])
  })
})

describe('GPU probe through readCapabilities', () => {
  let bin = ''
  const reader = createSystemReader(sysfsFixture('one-node'))

  before(async () => {
    // A stand-in nvidia-smi, so the probe finds one on PATH; the injected runner answers for it.
    bin = await mkdtemp(join(tmpdir(), 'mesh-gpus-'))
    await writeFile(join(bin, 'nvidia-smi'), '#!/bin/sh\nexit 0\n')
    await chmod(join(bin, 'nvidia-smi'), 0o755)
  })
  after(async () => { await rm(bin, { recursive: true, force: true }) })

  it('runs nvidia-smi from PATH with the query flags and a 5 s timeout', async () => {
    const calls: Array<{ file: string, args: string[], timeoutMs: number }> = []
    const run: CommandRunner = (file, args, opts) => {
      calls.push({ file, args, timeoutMs: opts.timeoutMs })
      return Promise.resolve({ code: 0, stdout: TWO_A100 })
    }
    const caps = await readCapabilities({ reader, run, path: bin })
    assert.equal(caps.gpus.length, 2)
    assert.deepEqual(calls, [{
      file: join(bin, 'nvidia-smi'),
      args: ['--query-gpu=index,name,memory.total,uuid', '--format=csv,noheader,nounits'],
      timeoutMs: 5000
    }])
  })

  it('does not run anything when nvidia-smi is not on PATH', async () => {
    let ran = false
    const run: CommandRunner = () => { ran = true; return Promise.resolve({ code: 0, stdout: TWO_A100 }) }
    const caps = await readCapabilities({ reader, run, path: '' })
    assert.deepEqual(caps.gpus, [])
    assert.equal(ran, false)
  })

  for (const [label, run] of [
    ['a non-zero exit', () => Promise.resolve({ code: 9, stdout: TWO_A100 })],
    ['a timeout or missing binary (code null)', () => Promise.resolve({ code: null, stdout: '' })],
    ['a runner that rejects', () => Promise.reject(new Error('boom'))],
    ['a runner that throws', () => { throw new Error('boom') }]
  ] satisfies Array<[string, CommandRunner]>) {
    it(`reports no GPUs on ${label}`, async () => {
      const caps = await readCapabilities({ reader, run, path: bin })
      assert.deepEqual(caps.gpus, [])
    })
  }
})
