import { createHash } from 'node:crypto'
import { constants as fsConstants, createReadStream } from 'node:fs'
import { chmod, copyFile, link, mkdir, open, readdir, rename, rm, stat, utimes, writeFile } from 'node:fs/promises'
import { dirname, join, resolve, sep } from 'node:path'
import { randomBytes } from 'node:crypto'
import { toError } from '../../errors.js'
import { errnoCode } from '../home.js'
import { IncomingFile } from './incoming-file.js'
import type { HeldFile } from '../../protocols/file/index.js'
import type { OfferedFile } from '../../protocols/push/index.js'

const SHA256 = /^[0-9a-f]{64}$/

/** a staged file keeps its source's permission bits, never setuid, setgid or sticky ones */
const PERMISSION_BITS = 0o777

/**
 * The mtime of every file in the cache. Writing a file moves its mtime, so a cached file with any
 * other mtime was changed after it was verified (a task wrote to a read-only input it was linked
 * to) and is dropped. Not the epoch: some tools refuse pre-1980 dates (zip). Use is kept in atime.
 */
export const SEALED_MTIME = new Date('2000-01-01T00:00:00Z')
/** in the cache's root once every file in it has a sealed mtime */
const SEALED_MARKER = '.sealed'

/**
 * How long a peer's read of a file this runner neither holds nor receives waits for its transfer
 * to start: the dispatcher names this runner as a source as soon as it tells it to receive the
 * file, and the peer's request can overtake that message.
 */
export const INCOMING_GRACE_MS = 3_000

/** received bytes are written to disk in batches of about this size (one writev each) */
const WRITE_BYTES = 1024 * 1024

/**
 * Files a runner has received, by SHA-256, in MESH_HOME/cache. A file whose hash the runner
 * already holds is not sent again (what SSH copy scripts do by comparing hashes, done once per
 * content instead of once per host and path).
 */
export class FileCache {
  readonly root: string
  private readonly graceMs: number
  /** transfers in progress, by hash: the first of each is what peers read while it arrives */
  private readonly incoming = new Map<string, IncomingFile>()
  private readonly arrivals = new Map<string, Set<() => void>>()

  /** read-only links being made, by hash: one at a time per file, as they may change its mode */
  private readonly linking = new Map<string, Promise<unknown>>()
  private readonly onChanged: (sha256: string) => void

  constructor (root: string, options: { graceMs?: number, onChanged?: (sha256: string) => void } = {}) {
    this.root = root
    this.graceMs = options.graceMs ?? INCOMING_GRACE_MS
    this.onChanged = options.onChanged ?? (() => {})
  }

  path (sha256: string): string {
    if (!SHA256.test(sha256)) throw new Error(`not a sha256: ${sha256.slice(0, 80)}`)
    return join(this.root, sha256.slice(0, 2), sha256)
  }

  /**
   * Seals files cached by a runner older than sealing (they have their arrival time as mtime):
   * such a runner only ever copied its files, so none was written by a task. Once per cache (a
   * marker file); call before the first offer. Returns how many files it sealed.
   */
  async sealOlder (): Promise<number> {
    const marker = join(this.root, SEALED_MARKER)
    if (await stat(marker).then(() => true, () => false)) return 0
    let sealed = 0
    for (const shard of await readdir(this.root).catch(() => [])) {
      for (const name of await readdir(join(this.root, shard)).catch(() => [])) {
        if (!SHA256.test(name)) continue
        const path = join(this.root, shard, name)
        const st = await stat(path).catch(() => undefined)
        if (st == null || !st.isFile() || st.mtimeMs === SEALED_MTIME.getTime()) continue
        await utimes(path, st.atime, SEALED_MTIME)
        sealed++
      }
    }
    await mkdir(this.root, { recursive: true })
    await writeFile(marker, '')
    return sealed
  }

  /**
   * A hit marks the file used now: the janitor evicts least recently used files first and never a
   * fresh one. A file changed since it was cached is dropped and counts as not held.
   */
  async has (sha256: string): Promise<boolean> {
    return (await this.held(sha256)) != null
  }

  /** size of the whole, unchanged cached file (marked used now), or undefined */
  private async held (sha256: string): Promise<number | undefined> {
    const path = this.path(sha256)
    const st = await stat(path).catch(() => undefined)
    if (st == null || !st.isFile()) return undefined
    if (st.mtimeMs !== SEALED_MTIME.getTime()) {
      await rm(path, { force: true })
      this.onChanged(sha256)
      return undefined
    }
    await utimes(path, new Date(), SEALED_MTIME).catch(() => {})
    return st.size
  }

  /**
   * A file for a peer to read (the file protocol): a whole, verified one from the cache, or one
   * still arriving (cut-through; the peer verifies the hash, as for any file). Marks it used, as
   * has() does. A file neither held nor arriving is awaited for a moment (INCOMING_GRACE_MS).
   */
  async open (sha256: string): Promise<HeldFile | undefined> {
    const arriving = this.incoming.get(sha256)
    if (arriving != null) return { size: arriving.size, read: () => arriving.read() }
    const held = await this.openWhole(sha256)
    if (held != null) return held
    const late = await this.awaitArrival(sha256)
    if (late != null) return { size: late.size, read: () => late.read() }
    return this.openWhole(sha256)
  }

  private async openWhole (sha256: string): Promise<HeldFile | undefined> {
    const size = await this.held(sha256)
    if (size == null) return undefined
    const path = this.path(sha256)
    return { size, read: () => createReadStream(path, { highWaterMark: 1024 * 1024 }) as AsyncIterable<Uint8Array> }
  }

  private async awaitArrival (sha256: string): Promise<IncomingFile | undefined> {
    let waiters = this.arrivals.get(sha256)
    if (waiters == null) {
      waiters = new Set()
      this.arrivals.set(sha256, waiters)
    }
    const set = waiters
    let done: () => void = () => {}
    const arrived = new Promise<void>(resolve => { done = resolve })
    set.add(done)
    const timer = setTimeout(done, this.graceMs)
    try {
      await arrived
    } finally {
      clearTimeout(timer)
      set.delete(done)
      if (set.size === 0 && this.arrivals.get(sha256) === set) this.arrivals.delete(sha256)
    }
    return this.incoming.get(sha256)
  }

  /**
   * Receives one file: chunks are hashed while written to a temp file, which is renamed into the
   * cache only when size and hash match. A bad transfer leaves nothing behind. Peers may read the
   * temp file while it grows (open()).
   */
  async receive (sha256: string, size: number, chunks: AsyncIterable<Uint8Array>): Promise<void> {
    const dest = this.path(sha256)
    const tmp = `${dest}.${randomBytes(6).toString('hex')}.part`
    const arriving = new IncomingFile(tmp, dest, size)
    // registered before the first await: a peer told to read from us may ask at once
    const served = !this.incoming.has(sha256)
    if (served) {
      this.incoming.set(sha256, arriving)
      for (const w of this.arrivals.get(sha256) ?? []) w()
    }
    const forget = (): void => {
      if (served && this.incoming.get(sha256) === arriving) this.incoming.delete(sha256)
    }
    const hash = createHash('sha256')
    let received = 0
    try {
      await mkdir(dirname(dest), { recursive: true })
      const out = await open(tmp, 'wx', 0o600)
      arriving.opened()
      try {
        // chunks come as the network delivered them (often 64 KiB): one write per WRITE_BYTES
        const batch: Uint8Array[] = []
        let batched = 0
        const flush = async (): Promise<void> => {
          await writeAll(out, batch, batched)
          arriving.wrote(batched)
          batch.length = 0
          batched = 0
        }
        for await (const chunk of chunks) {
          received += chunk.byteLength
          if (received > size) throw new Error(`file ${sha256.slice(0, 12)}… is longer than its declared ${size} bytes`)
          hash.update(chunk)
          batch.push(chunk)
          batched += chunk.byteLength
          if (batched >= WRITE_BYTES) await flush()
        }
        if (batched > 0) await flush()
      } finally {
        await out.close()
      }
      if (received !== size) throw new Error(`file ${sha256.slice(0, 12)}… ended after ${received} of ${size} bytes`)
      const actual = hash.digest('hex')
      if (actual !== sha256) throw new Error(`file content hashes to ${actual.slice(0, 12)}…, not ${sha256.slice(0, 12)}…`)
      await utimes(tmp, new Date(), SEALED_MTIME)
      await rename(tmp, dest)
      arriving.finished()
      forget()
    } catch (err) {
      arriving.failed(toError(err))
      forget()
      await rm(tmp, { force: true })
      throw err
    }
  }

  /**
   * Puts a cached file at `file.dest` inside `workDir` (refusing paths that escape it): a copy with
   * the source's permission bits (an executable script stays executable), or, for a read-only
   * file, a hard link to the cached file without write bits, so a big input is not written again
   * per task. The link is a copy where it cannot be made (another file system, or the cached file
   * is linked for another task with other execute bits).
   */
  async materialise (file: Pick<OfferedFile, 'sha256' | 'dest' | 'mode' | 'readOnly'>, workDir: string): Promise<void> {
    const target = safeJoin(workDir, file.dest)
    await mkdir(dirname(target), { recursive: true })
    const readOnly = file.readOnly === true
    const mode = readOnly ? readOnlyMode(file.mode) : file.mode & PERMISSION_BITS
    if (readOnly && await this.link(file.sha256, target, mode)) return
    // a reflink where the file system has them (btrfs, xfs): no second full write of a large
    // input; elsewhere a plain copy. A writable file is never a hard link: the task may change it
    await copyFile(this.path(file.sha256), target, fsConstants.COPYFILE_FICLONE)
    await chmod(target, mode)
  }

  /** hard-links the cached file at `target` with `mode`; false when a copy must do instead */
  private async link (sha256: string, target: string, mode: number): Promise<boolean> {
    const source = this.path(sha256)
    const before = this.linking.get(sha256) ?? Promise.resolve()
    const linked = before.then(async () => {
      const st = await stat(source)
      if (st.mtimeMs !== SEALED_MTIME.getTime()) throw new Error(`cached file ${sha256.slice(0, 12)}… changed on disk; it is fetched again on the next offer`)
      if ((st.mode & 0o7777) !== mode) {
        // the inode is the task's file: its bits may change only while no other task has it
        if (st.nlink > 1) return false
        await chmod(source, mode)
      }
      try {
        await link(source, target)
        return true
      } catch (err) {
        if (['EXDEV', 'EMLINK', 'EPERM'].includes(errnoCode(err) ?? '')) return false
        throw err
      }
    })
    const settled = linked.catch(() => {})
    this.linking.set(sha256, settled)
    try {
      return await linked
    } finally {
      if (this.linking.get(sha256) === settled) this.linking.delete(sha256)
    }
  }
}

/** a read-only file's bits: the source's read and execute bits, and always the owner's read (the daemon serves it to peers) */
function readOnlyMode (mode: number): number {
  return (mode & 0o555) | 0o400
}

async function writeAll (out: Awaited<ReturnType<typeof open>>, chunks: Uint8Array[], bytes: number): Promise<void> {
  const { bytesWritten } = await out.writev(chunks)
  if (bytesWritten === bytes) return
  // a short write (rare on a regular file): the rest, one buffer at a time
  let skip = bytesWritten
  for (const chunk of chunks) {
    const from = Math.min(skip, chunk.byteLength)
    skip -= from
    for (let off = from; off < chunk.byteLength;) off += (await out.write(chunk, off, chunk.byteLength - off)).bytesWritten
  }
}

/** Joins a relative path under a root; throws when the result would leave the root. */
export function safeJoin (root: string, rel: string): string {
  const base = resolve(root)
  const target = resolve(base, rel)
  if (target === base || !target.startsWith(base + sep)) throw new Error(`path '${rel}' escapes the work dir`)
  return target
}
