import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { appendFile, chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { FileCache, SEALED_MTIME } from '../../../src/node/runner/file-cache.js'

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex')

/** A transfer the test feeds by hand: push() hands the next chunk to the receiver, end() ends it. */
function feed (): { chunks: AsyncIterable<Uint8Array>, push: (c: Uint8Array) => void, end: () => void } {
  const queue: Array<Uint8Array | null> = []
  let wake: (() => void) | undefined
  const put = (c: Uint8Array | null): void => { queue.push(c); wake?.() }
  return {
    push: put,
    end: () => { put(null) },
    chunks: (async function * () {
      for (;;) {
        while (queue.length === 0) await new Promise<void>(resolve => { wake = resolve })
        const c = queue.shift()!
        if (c === null) return
        yield c
      }
    })()
  }
}

async function * from (...chunks: Uint8Array[]): AsyncGenerator<Uint8Array> {
  yield * chunks
}

async function collect (chunks: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Buffer[] = []
  for await (const c of chunks) parts.push(Buffer.from(c))
  return Buffer.concat(parts)
}

/** lets the receiver write what it was handed */
const settle = async (): Promise<void> => { await new Promise(resolve => setTimeout(resolve, 50)) }

describe('runner file cache', () => {
  let dir: string
  before(async () => { dir = await mkdtemp(join(tmpdir(), 'mesh-cache-')) })
  after(async () => { await rm(dir, { recursive: true, force: true }) })

  it('keeps a file that hashes right; leaves nothing of one that does not', async () => {
    const cache = new FileCache(join(dir, 'a'), { graceMs: 10 })
    const data = randomBytes(3 * 1024 * 1024 + 7)
    // small chunks, as the network delivers them: written in batches, every byte in order
    const parts = []
    for (let off = 0; off < data.byteLength; off += 65_519) parts.push(data.subarray(off, off + 65_519))
    await cache.receive(sha(data), data.byteLength, from(...parts))
    assert.ok(await cache.has(sha(data)))
    const held = await cache.open(sha(data))
    assert.ok(held != null)
    assert.equal(held.size, data.byteLength)
    assert.equal(sha(await collect(held.read())), sha(data))

    const wrong = 'f'.repeat(64)
    await assert.rejects(cache.receive(wrong, 5, from(Buffer.from('hello'))), /hashes to .*, not ffffffffffff/)
    await assert.rejects(cache.receive(sha(data), 10, from(data.subarray(0, 11))), /longer than its declared 10 bytes/)
    assert.deepEqual((await readdir(dirname(cache.path(wrong)))), [], 'no temp file left behind')
    assert.equal(await cache.has(wrong), false)
  })

  it('serves a file while it arrives: a reader gets only written bytes and ends with the whole file', async () => {
    const cache = new FileCache(join(dir, 'b'), { graceMs: 10 })
    const data = randomBytes(5 * 1024 * 1024 + 11)
    const f = feed()
    const receiving = cache.receive(sha(data), data.byteLength, f.chunks)
    f.push(data.subarray(0, 2 * 1024 * 1024))
    await settle()
    const arriving = await cache.open(sha(data))
    assert.ok(arriving != null)
    assert.equal(arriving.size, data.byteLength, 'readable before it is whole')
    assert.equal(await cache.has(sha(data)), false, 'but not held yet')
    const it = arriving.read()[Symbol.asyncIterator]()
    let got = 0
    for (let r = await it.next(); r.done !== true; r = await it.next()) {
      got += r.value.byteLength
      if (got >= 2 * 1024 * 1024) break
    }
    assert.equal(got, 2 * 1024 * 1024, 'only what was written')
    let next = it.next()
    let moved = false
    void next.then(() => { moved = true })
    await settle()
    assert.equal(moved, false, 'the reader waits for more')
    f.push(data.subarray(2 * 1024 * 1024, 4 * 1024 * 1024))
    f.push(data.subarray(4 * 1024 * 1024))
    f.end()
    const parts: Buffer[] = [data.subarray(0, got)]
    for (let r = await next; r.done !== true; r = await next) {
      parts.push(Buffer.from(r.value))
      next = it.next()
    }
    await receiving
    assert.equal(sha(Buffer.concat(parts)), sha(data), 'the reader saw every byte, in order')
    assert.equal(sha(await readFile(cache.path(sha(data)))), sha(data))
  })

  it('a reader that comes before the transfer wrote anything waits for its bytes', async () => {
    const cache = new FileCache(join(dir, 'early'), { graceMs: 10 })
    const data = randomBytes(1024 * 1024 + 1)
    const f = feed()
    const receiving = cache.receive(sha(data), data.byteLength, f.chunks)
    // no await in between: the temp file does not exist yet
    const reading = (await cache.open(sha(data)))!.read()
    const all = collect(reading)
    f.push(data)
    f.end()
    await receiving
    assert.equal(sha(await all), sha(data))
  })

  it('a reader of an arriving file fails when the transfer does; nothing is kept', async () => {
    const cache = new FileCache(join(dir, 'c'), { graceMs: 10 })
    const data = randomBytes(2 * 1024 * 1024)
    const f = feed()
    const receiving = cache.receive(sha(data), data.byteLength, f.chunks)
    f.push(data.subarray(0, 1024 * 1024))
    await settle()
    const reading = collect((await cache.open(sha(data)))!.read()).then(() => 'ended', (err: Error) => err.message)
    f.push(randomBytes(1024 * 1024)) // not the file's bytes: the hash check fails at the end
    f.end()
    await assert.rejects(receiving, /hashes to/)
    assert.match(await reading, /^this runner's own copy failed: file content hashes to/)
    assert.equal(await cache.has(sha(data)), false)
    assert.deepEqual((await readdir(dirname(cache.path(sha(data))))), [])
  })

  it('a request for a file neither held nor arriving waits a moment for its transfer to start', async () => {
    const cache = new FileCache(join(dir, 'd'), { graceMs: 300 })
    const data = randomBytes(1024)
    assert.equal(await cache.open(sha(data)), undefined, 'nothing came within the grace')
    const asked = cache.open(sha(data))
    await new Promise(resolve => setTimeout(resolve, 50))
    const f = feed()
    const receiving = cache.receive(sha(data), data.byteLength, f.chunks)
    const held = await asked
    assert.ok(held != null)
    assert.equal(held.size, data.byteLength, 'the transfer that started meanwhile is served')
    f.push(data)
    f.end()
    await receiving
    assert.equal(sha(await collect(held.read())), sha(data))
    // after it ended, the whole file is what a reader gets
    assert.equal(sha(await collect((await cache.open(sha(data)))!.read())), sha(data))
  })

  it('copies a file into a work dir with its source\'s permission bits, never setuid, setgid or sticky', async () => {
    const cache = new FileCache(join(dir, 'e'))
    const script = Buffer.from('#!/bin/sh\necho ran\n')
    await cache.receive(sha(script), script.byteLength, from(script))
    const work = join(dir, 'e-work')
    const put = async (dest: string, mode: number): Promise<void> => { await cache.materialise({ sha256: sha(script), dest, mode }, work) }
    await put('bin/run.sh', 0o755)
    await put('setuid.sh', 0o7750)
    await put('private.sh', 0o600)
    assert.equal((await stat(join(work, 'bin/run.sh'))).mode & 0o7777, 0o755)
    assert.equal((await stat(join(work, 'setuid.sh'))).mode & 0o7777, 0o750)
    assert.equal((await stat(join(work, 'private.sh'))).mode & 0o7777, 0o600)
    assert.deepEqual(await readFile(join(work, 'bin/run.sh')), script)
    assert.equal((await stat(join(work, 'bin/run.sh'))).ino !== (await stat(cache.path(sha(script)))).ino, true, 'a copy, not a link')
    await assert.rejects(put('../out.sh', 0o644), /escapes the work dir/)
  })

  it('links a read-only file from the cache without write bits; a copy when its inode is another task\'s with other bits', async () => {
    const cache = new FileCache(join(dir, 'f'))
    const data = randomBytes(64 * 1024)
    await cache.receive(sha(data), data.byteLength, from(data))
    const cached = cache.path(sha(data))
    const a = join(dir, 'f-a')
    const b = join(dir, 'f-b')
    await cache.materialise({ sha256: sha(data), dest: 'in/data.bin', mode: 0o664, readOnly: true }, a)
    const linked = await stat(join(a, 'in/data.bin'))
    assert.equal(linked.ino, (await stat(cached)).ino, 'the cached file itself')
    assert.equal(linked.mode & 0o7777, 0o444, 'read bits only')
    assert.deepEqual(await readFile(join(a, 'in/data.bin')), data)
    // same bits: another link to the same inode
    await cache.materialise({ sha256: sha(data), dest: 'data.bin', mode: 0o644, readOnly: true }, b)
    assert.equal((await stat(join(b, 'data.bin'))).ino, linked.ino)
    // other bits while linked elsewhere: changing the inode's mode would change a's file, so a copy
    await cache.materialise({ sha256: sha(data), dest: 'run.bin', mode: 0o755, readOnly: true }, b)
    const copied = await stat(join(b, 'run.bin'))
    assert.notEqual(copied.ino, linked.ino)
    assert.equal(copied.mode & 0o7777, 0o555)
    assert.equal((await stat(cached)).mode & 0o7777, 0o444, 'the cached file kept its bits')
    // once no task holds it, the inode takes the bits the next task asks for
    await rm(a, { recursive: true })
    await rm(b, { recursive: true })
    await cache.materialise({ sha256: sha(data), dest: 'run.bin', mode: 0o700, readOnly: true }, b)
    assert.equal((await stat(join(b, 'run.bin'))).ino, linked.ino)
    assert.equal((await stat(cached)).mode & 0o7777, 0o500)
    assert.ok(await cache.has(sha(data)))
  })

  it('links to the same file one at a time: concurrent tasks asking for other bits get copies, never a changed inode', async () => {
    const cache = new FileCache(join(dir, 'g'))
    const data = randomBytes(4096)
    await cache.receive(sha(data), data.byteLength, from(data))
    const modes = [0o444, 0o555, 0o444, 0o555, 0o644, 0o755]
    await Promise.all(modes.map(async (mode, i) => { await cache.materialise({ sha256: sha(data), dest: 'f', mode, readOnly: true }, join(dir, `g-${i}`)) }))
    const inode = (await stat(cache.path(sha(data)))).ino
    const cachedMode = (await stat(cache.path(sha(data)))).mode & 0o777
    for (const [i, mode] of modes.entries()) {
      const st = await stat(join(dir, `g-${i}`, 'f'))
      assert.equal(st.mode & 0o777, (mode & 0o555) | 0o400, `task ${i} has the bits it asked for`)
      if (st.ino === inode) assert.equal(st.mode & 0o777, cachedMode)
    }
  })

  it('drops a cached file that was written after it was cached (a task broke read-only) and says so', async () => {
    const changed: string[] = []
    const cache = new FileCache(join(dir, 'h'), { graceMs: 10, onChanged: s => changed.push(s) })
    const data = randomBytes(8192)
    await cache.receive(sha(data), data.byteLength, from(data))
    assert.equal((await stat(cache.path(sha(data)))).mtime.getTime(), SEALED_MTIME.getTime())
    const work = join(dir, 'h-work')
    await cache.materialise({ sha256: sha(data), dest: 'data.bin', mode: 0o644, readOnly: true }, work)
    // what a task running as root, or one that restores the write bit, can do
    await chmod(join(work, 'data.bin'), 0o644)
    await appendFile(join(work, 'data.bin'), 'more')
    await assert.rejects(cache.materialise({ sha256: sha(data), dest: 'again.bin', mode: 0o644, readOnly: true }, work), /changed on disk/)
    assert.equal(await cache.open(sha(data)), undefined, 'not served to peers')
    assert.equal(await cache.has(sha(data)), false, 'asked for again')
    assert.deepEqual(changed, [sha(data)])
    await assert.rejects(stat(cache.path(sha(data))), /ENOENT/)
    // the task's own file is left as the task made it
    assert.equal((await stat(join(work, 'data.bin'))).size, data.byteLength + 4)
    // received again, it is whole and sealed
    await cache.receive(sha(data), data.byteLength, from(data))
    assert.ok(await cache.has(sha(data)))
  })

  it('seals files cached by an older version once, so they are not taken for changed ones', async () => {
    const changed: string[] = []
    const root = join(dir, 'k')
    const older = randomBytes(500)
    const path = join(root, sha(older).slice(0, 2), sha(older))
    await mkdir(dirname(path), { recursive: true })
    await writeFile(path, older, { mode: 0o600 })
    await writeFile(`${path}.abc.part`, older.subarray(0, 10))
    const cache = new FileCache(root, { onChanged: s => changed.push(s) })
    assert.equal(await cache.sealOlder(), 1)
    assert.ok(await cache.has(sha(older)))
    assert.deepEqual(changed, [])
    assert.notEqual((await stat(`${path}.abc.part`)).mtimeMs, SEALED_MTIME.getTime(), 'a transfer in progress is not sealed')
    // done once: a file changed later is a changed file
    await utimes(path, new Date(), new Date())
    assert.equal(await cache.sealOlder(), 0)
    assert.equal(await cache.has(sha(older)), false)
    assert.deepEqual(changed, [sha(older)])
    assert.equal(await new FileCache(join(dir, 'k-new')).sealOlder(), 0, 'a new cache: nothing to seal')
  })

  it('a use marks the file\'s atime and keeps its sealed mtime', async () => {
    const cache = new FileCache(join(dir, 'i'))
    const data = randomBytes(100)
    await cache.receive(sha(data), data.byteLength, from(data))
    const path = cache.path(sha(data))
    const old = new Date(Date.now() - 86_400_000)
    await utimes(path, old, SEALED_MTIME)
    assert.ok(await cache.has(sha(data)))
    const st = await stat(path)
    assert.ok(st.atimeMs > old.getTime() + 3_600_000, 'atime moved to now')
    assert.equal(st.mtimeMs, SEALED_MTIME.getTime())
  })

  it('copies a read-only file where a link cannot be made (work dir on another file system)', async () => {
    const shm = await mkdtemp(join('/dev/shm', 'mesh-cache-'))
    try {
      const cache = new FileCache(join(dir, 'j'))
      const data = randomBytes(1000)
      await cache.receive(sha(data), data.byteLength, from(data))
      await cache.materialise({ sha256: sha(data), dest: 'x.bin', mode: 0o640, readOnly: true }, shm)
      const st = await stat(join(shm, 'x.bin'))
      assert.equal(st.mode & 0o7777, 0o440)
      assert.deepEqual(await readFile(join(shm, 'x.bin')), data)
    } finally {
      await rm(shm, { recursive: true, force: true })
    }
  })
})
