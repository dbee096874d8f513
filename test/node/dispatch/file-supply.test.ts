import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { createFileSupply } from '../../../src/node/dispatch/file-supply.js'
import type { FileLease } from '../../../src/protocols/push/index.js'

const SHA = 'a'.repeat(64)
const staged = [{ src: '/nonexistent', dest: 'f', sha256: SHA, size: 1, mode: 0o644 }]

/** true when the promise is still pending after the queued callbacks ran */
async function pending (p: Promise<unknown>): Promise<boolean> {
  let settled = false
  p.then(() => { settled = true }, () => { settled = true })
  await new Promise(resolve => setImmediate(resolve))
  return !settled
}

describe('file supply: who sends a staged file to whom', () => {
  it('starts from the dispatcher, then prefers a runner that holds the file', async () => {
    const s = createFileSupply({ files: staged, self: 'D' })
    const a = await s.acquire(SHA, 'R1', {})
    assert.equal(a.from, null, 'only the dispatcher holds it at first')
    const waiting = s.acquire(SHA, 'R2', {})
    assert.ok(await pending(waiting), 'one transfer per source: R2 waits')
    a.release(true)
    const b = await waiting
    assert.equal(b.from, 'R1', 'R1 holds it now and is preferred over the dispatcher')
    const c = await s.acquire(SHA, 'R3', {})
    assert.equal(c.from, null, 'the dispatcher is free again')
  })

  it('spreads to N runners in ⌈log₂(N+1)⌉ rounds (a binomial tree), not N', async () => {
    for (const n of [1, 2, 3, 10, 25, 50]) {
      const s = createFileSupply({ files: staged, self: 'D' })
      const runners = Array.from({ length: n }, (_, i) => `R${i + 1}`)
      let rounds = 0
      let left = [...runners]
      while (left.length > 0) {
        rounds++
        // every free source takes one waiting runner; a round ends when all of its transfers do
        const leases: Array<[string, FileLease]> = []
        const waiting: string[] = []
        for (const r of left) {
          const p = s.acquire(SHA, r, { signal: AbortSignal.abort() })
          const lease = await p.catch(() => undefined)
          if (lease != null) leases.push([r, lease])
          else waiting.push(r)
        }
        for (const [, lease] of leases) lease.release(true)
        left = waiting
      }
      assert.equal(rounds, Math.ceil(Math.log2(n + 1)), `${n} runners`)
    }
  })

  it('a runner that held the file already serves at once; nobody is sent a file by itself', async () => {
    const s = createFileSupply({ files: staged, self: 'D' })
    s.held(SHA, 'R1')
    const a = await s.acquire(SHA, 'R2', {})
    assert.equal(a.from, 'R1')
    const b = await s.acquire(SHA, 'R1', {})
    assert.equal(b.from, null, 'R1 is never its own source')
  })

  it('a peer that failed once is not offered again for that file', async () => {
    const s = createFileSupply({ files: staged, self: 'D' })
    s.held(SHA, 'R1')
    const a = await s.acquire(SHA, 'R2', {})
    assert.equal(a.from, 'R1')
    a.release(false)
    a.release(true) // a second release changes nothing
    const b = await s.acquire(SHA, 'R2', {})
    assert.equal(b.from, null, 'back to the dispatcher')
    b.release(true)
    const c = await s.acquire(SHA, 'R3', {})
    assert.equal(c.from, 'R2', 'R2 holds it now; R1 stays out')
  })

  it('a wait ends when its signal aborts', async () => {
    const s = createFileSupply({ files: staged, self: 'D' })
    await s.acquire(SHA, 'R1', {})
    const ac = new AbortController()
    const waiting = s.acquire(SHA, 'R2', { signal: ac.signal })
    assert.ok(await pending(waiting))
    ac.abort(new Error('job cancelled'))
    await assert.rejects(waiting, /job cancelled/)
  })

  it('keeps files apart: holding one says nothing about another', async () => {
    const other = 'b'.repeat(64)
    const s = createFileSupply({ files: [...staged, { ...staged[0]!, sha256: other }], self: 'D' })
    s.held(SHA, 'R1')
    const a = await s.acquire(other, 'R2', {})
    assert.equal(a.from, null)
  })
})
