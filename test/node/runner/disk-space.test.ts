import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import type { Executor } from '../../../src/exec/index.js'
import type { TaskOffer } from '../../../src/protocols/push/index.js'
import { taskOffer, testRunner } from '../../helpers/runner.js'

const MiB = 2 ** 20
const idle = { name: 'process', available: async () => ({ ok: true }), shutdown: async () => {} } as unknown as Executor

function withFiles (id: string, files: Array<{ size: number, readOnly?: true }>): TaskOffer {
  return { ...taskOffer(id), files: files.map((f, i) => ({ dest: `f${i}`, sha256: String(i).repeat(64), mode: 0o644, ...f })) }
}

describe('runner: the disk a task\'s files need', () => {
  let home = ''
  after(async () => { if (home !== '') await rm(home, { recursive: true, force: true }) })

  it('refuses an offer whose files do not fit, naming what is needed and what is free, and reserves nothing', async () => {
    home = await mkdtemp(join(tmpdir(), 'mesh-disk-'))
    let changed = 0
    const runner = testRunner(home, { executor: idle, freeDiskBytes: async () => 100 * MiB, capacityChanged: () => { changed++ } })
    // a missing 60 MiB file lands in the cache, and its copy in the work dir: 120 MiB
    const copied = await runner.open(withFiles('big', [{ size: 60 * MiB }]), 'D')
    assert.deepEqual(copied.reply, { status: 'rejected', reason: `r: not enough disk for the task's files: 120 MiB needed, 100 MiB free in ${home}` })
    assert.equal(changed, 0, 'no cores were reserved and released')
    // read-only: a link, not a copy; only the cache needs room
    const linked = await runner.open(withFiles('ro', [{ size: 60 * MiB, readOnly: true }]), 'D')
    assert.equal(linked.reply.status, 'reserved')
    linked.abort('test done')
    // no files: no disk asked of anyone
    const none = await runner.open(taskOffer('none'), 'D')
    assert.equal(none.reply.status, 'reserved')
    none.abort('test done')
    await runner.stop()
  })

  it('takes an unknown amount of free space as enough', async () => {
    const runner = testRunner(home, { executor: idle, freeDiskBytes: async () => undefined })
    const s = await runner.open(withFiles('x', [{ size: 2 ** 40 }]), 'D')
    assert.equal(s.reply.status, 'reserved')
    s.abort('test done')
    await runner.stop()
  })
})
