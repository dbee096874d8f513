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
  it('cut-through: a runner is a source as soon as its transfer starts; a whole copy is preferred', async () => {
    const s = createFileSupply({ files: staged, self: 'D' })
    const a = await s.acquire(SHA, 'R1', {})
    assert.equal(a.from, null, 'only the dispatcher holds it at first')
    const b = await s.acquire(SHA, 'R2', {})
    assert.equal(b.from, 'R1', 'R1 serves what it has received so far')
    const waiting = s.acquire(SHA, 'R3', {})
    const c = await waiting
    assert.equal(c.from, 'R2', 'one upload per source: R3 reads from R2, a chain')
    a.release(true)
    b.release(true)
    s.held(SHA, 'R9')
    const d = await s.acquire(SHA, 'R4', {})
    assert.equal(d.from, 'R1', 'a whole copy before one still arriving (R3) and before the dispatcher')
  })

  it('store and forward (cutThrough false): starts from the dispatcher, then prefers a runner that holds the file', async () => {
    const s = createFileSupply({ files: staged, self: 'D', cutThrough: false })
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

  it('cut-through: N runners all start at once, each source sending to one runner (a chain of N)', async () => {
    for (const n of [1, 2, 10, 50]) {
      const s = createFileSupply({ files: staged, self: 'D' })
      const sources = new Map<string | null, number>()
      for (let i = 1; i <= n; i++) {
        const lease = await s.acquire(SHA, `R${i}`, { signal: AbortSignal.abort() })
        sources.set(lease.from, (sources.get(lease.from) ?? 0) + 1)
      }
      assert.equal(sources.size, n, `${n} runners: every one has its own source`)
      assert.equal(sources.get(null), 1, 'the dispatcher sends the file once')
    }
  })

  it('store and forward: spreads to N runners in ⌈log₂(N+1)⌉ rounds (a binomial tree), not N', async () => {
    for (const n of [1, 2, 3, 10, 25, 50]) {
      const s = createFileSupply({ files: staged, self: 'D', cutThrough: false })
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
    assert.equal(b.from, 'R2', 'R1 is never its own source')
  })

  it('a runner whose transfer failed is no source until it gets a new one', async () => {
    const s = createFileSupply({ files: staged, self: 'D' })
    const a = await s.acquire(SHA, 'R1', {})
    a.release(false)
    const b = await s.acquire(SHA, 'R2', {})
    assert.equal(b.from, null, 'R1 holds nothing: the dispatcher serves R2')
    const c = await s.acquire(SHA, 'R1', {})
    assert.equal(c.from, 'R2', 'R1 tries again from R2, which is receiving')
    const d = await s.acquire(SHA, 'R3', {})
    assert.equal(d.from, 'R1', 'and serves again once it has a source')
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
    const s = createFileSupply({ files: staged, self: 'D', cutThrough: false })
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
