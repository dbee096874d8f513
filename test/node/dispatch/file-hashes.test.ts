import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { createFileHashes } from '../../../src/node/dispatch/file-hashes.js'
import { stageFiles } from '../../../src/node/dispatch/files.js'

const sha = (s: string): string => createHash('sha256').update(s).digest('hex')
/** a clock well past every file's ctime: files count as settled */
const later = (): number => Date.now() + 60_000
/** file timestamps move in clock ticks of a few ms: wait one out so a rewrite shows */
const nextTick = async (): Promise<void> => { await sleep(30) }

describe('file hashes for staging', () => {
  let dir: string
  before(async () => { dir = await mkdtemp(join(tmpdir(), 'mesh-hashes-')) })
  after(async () => { await rm(dir, { recursive: true, force: true }) })

  it('hashes an unchanged file once', async () => {
    const f = join(dir, 'same')
    await writeFile(f, 'input one')
    const hashes = createFileHashes({ now: later })
    const first = await hashes.hash(f)
    const second = await hashes.hash(f)
    assert.equal(first.sha256, sha('input one'))
    assert.deepEqual(second, first)
    assert.deepEqual(hashes.stats(), { hits: 1, reads: 1, entries: 1 })
  })

  it('hashes again after a rewrite of the same size, and after a replace by rename', async () => {
    const f = join(dir, 'rewritten')
    await writeFile(f, 'aaaa')
    const hashes = createFileHashes({ now: later })
    assert.equal((await hashes.hash(f)).sha256, sha('aaaa'))
    await nextTick()
    await writeFile(f, 'bbbb')
    assert.equal((await hashes.hash(f)).sha256, sha('bbbb'))
    await writeFile(join(dir, 'next'), 'cccc')
    await rename(join(dir, 'next'), f)
    assert.equal((await hashes.hash(f)).sha256, sha('cccc'))
    assert.equal(hashes.stats().reads, 3)
    assert.equal(hashes.stats().hits, 0)
  })

  it('does not trust a file changed just before it was hashed (a write in the same clock tick would not show)', async () => {
    const f = join(dir, 'fresh')
    await writeFile(f, 'just written')
    const hashes = createFileHashes()
    await hashes.hash(f)
    await hashes.hash(f)
    assert.deepEqual(hashes.stats(), { hits: 0, reads: 2, entries: 0 })
  })

  it('keeps at most maxEntries paths, dropping the least recently used', async () => {
    const hashes = createFileHashes({ now: later, maxEntries: 2 })
    for (const name of ['a', 'b', 'c']) await writeFile(join(dir, name), name)
    await hashes.hash(join(dir, 'a'))
    await hashes.hash(join(dir, 'b'))
    await hashes.hash(join(dir, 'a'))
    await hashes.hash(join(dir, 'c'))
    assert.equal(hashes.stats().entries, 2)
    await hashes.hash(join(dir, 'a'))
    assert.equal(hashes.stats().hits, 2, 'a was used last but one: still held')
    await hashes.hash(join(dir, 'b'))
    assert.equal(hashes.stats().reads, 4, 'b was dropped for c')
  })

  it('stageFiles names the entry of a missing file or a folder, and uses the cache it is given', async () => {
    const hashes = createFileHashes({ now: later })
    await writeFile(join(dir, 'in.bin'), 'payload')
    const [staged] = await stageFiles([{ src: 'in.bin', dest: 'x/in.bin' }], hashes, dir)
    assert.deepEqual({ ...staged, mode: undefined }, { src: join(dir, 'in.bin'), dest: 'x/in.bin', sha256: sha('payload'), size: 7, mode: undefined })
    await stageFiles([{ src: 'in.bin', dest: 'y' }], hashes, dir)
    assert.equal(hashes.stats().hits, 1)
    await assert.rejects(stageFiles([{ src: 'nope', dest: 'y' }], hashes, dir), /task file entry nope: .*ENOENT/)
    await assert.rejects(stageFiles([{ src: '.', dest: 'y' }], hashes, dir), /task file entry \.: not a regular file/)
  })
})
