import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { appendFile, mkdtemp, rename, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { createFileHashes } from '../../../src/node/dispatch/file-hashes.js'
import { StagedFileChangedError, fileSource, stageFiles } from '../../../src/node/dispatch/files.js'

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
    assert.deepEqual({ ...staged, mode: undefined, identity: undefined }, { src: join(dir, 'in.bin'), dest: 'x/in.bin', sha256: sha('payload'), size: 7, mode: undefined, identity: undefined })
    assert.match(staged?.identity ?? '', /^\d+:\d+:7:\d+:\d+$/)
    await stageFiles([{ src: 'in.bin', dest: 'y' }], hashes, dir)
    assert.equal(hashes.stats().hits, 1)
    await assert.rejects(stageFiles([{ src: 'nope', dest: 'y' }], hashes, dir), /task file entry nope: .*ENOENT/)
    await assert.rejects(stageFiles([{ src: '.', dest: 'y' }], hashes, dir), /task file entry \.: not a regular file/)
  })

  it('sends a staged file only while it is the file that was hashed, and says which one changed', async () => {
    const collect = async (chunks: AsyncIterable<Uint8Array>): Promise<string> => {
      let out = ''
      for await (const c of chunks) out += Buffer.from(c).toString()
      return out
    }
    await writeFile(join(dir, 'grows.txt'), 'first version')
    const [staged] = await stageFiles([{ src: 'grows.txt', dest: 'g' }], createFileHashes({ now: later }), dir)
    const told: string[] = []
    const read = fileSource([staged!], err => told.push(err.message))
    assert.equal(await collect(read(staged!.sha256)), 'first version')
    await nextTick()
    await appendFile(join(dir, 'grows.txt'), ', and more')
    await assert.rejects(collect(read(staged!.sha256)), (err: unknown) => err instanceof StagedFileChangedError && err.exitCode === 2 &&
      err.message === `${join(dir, 'grows.txt')} changed after it was hashed for this task (still being written?); push again once it is complete`)
    assert.equal(told.length, 1)
    // changed while it was being read: detected at the end, after the bytes the offer declared
    await writeFile(join(dir, 'big.bin'), Buffer.alloc(3 * 1024 * 1024, 1))
    const [big] = await stageFiles([{ src: 'big.bin', dest: 'b' }], createFileHashes({ now: later }), dir)
    let bytes = 0
    await assert.rejects((async () => {
      for await (const c of fileSource([big!])(big!.sha256)) {
        if (bytes === 0) { await nextTick(); await writeFile(join(dir, 'big.bin'), Buffer.alloc(3 * 1024 * 1024, 2)) }
        bytes += c.byteLength
      }
    })(), StagedFileChangedError)
    assert.equal(bytes, 3 * 1024 * 1024, 'never more than the declared size')
    // a file replaced by a rename is another file, even with the same size and content
    await writeFile(join(dir, 'swap.new'), 'first version')
    await rename(join(dir, 'swap.new'), join(dir, 'grows.txt'))
    await assert.rejects(collect(fileSource([staged!])(staged!.sha256)), StagedFileChangedError)
    // a job queued by an older version has no identity: read as it is
    const { identity: _, ...older } = staged!
    assert.equal(await collect(fileSource([older])(older.sha256)), 'first version')
  })

})
