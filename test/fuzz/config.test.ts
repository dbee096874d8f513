/**
 * config.json as a node reads it: text → JSON → schema and cross-field rules. A broken file is
 * one InvalidFileError line naming the file, never a crash, however many fields are wrong.
 */
import { describe, it } from 'node:test'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadConfig } from '../../src/node/config.js'
import { announce, assertClearError, withinBudget } from './lib/oracle.js'
import { mutatedJsonText } from './lib/mutate.js'
import { baseSeed, forEachCase, iterations } from './lib/rand.js'
import type { Json } from './lib/mutate.js'

const VALID: Json = {
  version: 1, name: 'lab1', tags: ['xai', 'junos'], listen: ['/ip4/0.0.0.0/tcp/7420'],
  bootstrap: ['/ip4/10.0.0.1/tcp/7420/p2p/12D3KooWLvDs4jbrBSbDkSWBbvxHt4pMyYyBHhGjAzbQMGzQbN8d'], mdns: true,
  heartbeatIntervalMs: 2000, offlineAfterMs: 7000, dropAfterMs: 86_400_000, executors: ['process']
}

describe('fuzz: config.json', () => {
  it('loads or refuses in one clear line', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mesh-fuzz-config-'))
    const path = join(dir, 'config.json')
    try {
      // each load compiles the config schema (a few ms): fewer cases than elsewhere
      const count = iterations(30)
      announce('config', baseSeed(), count)
      await forEachCase('config', count, async (rand) => {
        await writeFile(path, mutatedJsonText(VALID, rand))
        const outcome = await withinBudget(async () => loadConfig(path), 'loadConfig')
        if (!outcome.ok) assertClearError(outcome.error, 'loadConfig', ['InvalidFileError'])
      })
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  // regression: every problem was listed (a page for a file of bad items), values were shown with
  // U+2028 unescaped, and an unknown key of any length was quoted whole
  it('a file with many bad fields is refused in one short line', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mesh-fuzz-config-'))
    const path = join(dir, 'config.json')
    try {
      await writeFile(path, JSON.stringify({ tags: Array.from({ length: 500 }, (_, i) => `bad tag ${i}`), name: '\u2028', ['k'.repeat(5000)]: 1 }))
      await loadConfig(path).then(() => { throw new Error('accepted') }, (err: unknown) => { assertClearError(err, 'loadConfig', ['InvalidFileError']) })
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
