import assert from 'node:assert/strict'
import { afterEach, beforeEach, describe, it, mock } from 'node:test'
import { silentLogger } from '../../src/node/logger.js'
import { tags } from '../../src/protocols/tags/index.js'
import { EARLY_PROVIDE_DELAYS_MS, PROVIDE_JITTER } from '../../src/protocols/tags/constants.js'
import type { TagsComponents } from '../../src/protocols/tags/index.js'

const START = 1_700_000_000_000
/** longer than the last early walk, so a periodic walk never coincides with one */
const INTERVAL = 30_000

/** a DHT whose provide walks end at once; records when each began */
function fakeDht (): { dht: TagsComponents['dht'], walks: number[] } {
  const walks: number[] = []
  const dht = {
    async * provide () { walks.push(Date.now() - START) },
    async * findProviders () {}
  } as unknown as TagsComponents['dht']
  return { dht, walks }
}

/** the fake clock forward in 100 ms steps, letting each walk's promises settle between firings */
async function advance (ms: number): Promise<void> {
  for (let t = 0; t < ms; t += 100) {
    mock.timers.tick(100)
    for (let i = 0; i < 5; i++) await new Promise(resolve => setImmediate(resolve))
  }
}

describe('tag advertiser', () => {
  beforeEach(() => { mock.timers.enable({ apis: ['setTimeout', 'Date'], now: START }) })
  afterEach(() => { mock.timers.reset() })

  it('provides at start, while the routing table fills, then at a jittered interval; nothing after stop', async () => {
    const { dht, walks } = fakeDht()
    const service = tags({ tags: ['xai'], provideIntervalMs: INTERVAL })({ dht, log: silentLogger() })
    await service.start()
    await advance(300_000)
    const early = [0, ...EARLY_PROVIDE_DELAYS_MS].filter(d => d <= 300_000)
    for (const d of early) assert.ok(walks.some(w => Math.abs(w - d) <= 100), `a walk at +${d} ms (walks: ${walks.join(', ')})`)
    const periodic = walks.filter(w => !early.some(d => Math.abs(w - d) <= 100))
    assert.ok(periodic.length >= 7, `periodic walks over 300 s at ${INTERVAL} ms ± ${PROVIDE_JITTER * 100} %: ${periodic.join(', ')}`)
    const gaps = periodic.slice(1).map((w, i) => w - (periodic[i] ?? 0))
    for (const gap of gaps) assert.ok(gap >= INTERVAL * (1 - PROVIDE_JITTER) - 100 && gap <= INTERVAL * (1 + PROVIDE_JITTER) + 100, `gap ${gap} ms`)
    assert.ok(new Set(gaps).size > 1, `the interval is jittered, not fixed: ${gaps.join(', ')}`)
    await service.stop()
    const before = walks.length
    await advance(60_000)
    assert.equal(walks.length, before, 'no walk after stop')
  })
})
