import { createHash } from 'node:crypto'
import { constants as fsConstants, createReadStream, createWriteStream } from 'node:fs'
import { copyFile, mkdir, rename, rm, stat, utimes } from 'node:fs/promises'
import { dirname, join, resolve, sep } from 'node:path'
import { randomBytes } from 'node:crypto'

const SHA256 = /^[0-9a-f]{64}$/

/**
 * Files a runner has received, by SHA-256, in MESH_HOME/cache. A file whose hash the runner
 * already holds is not sent again (what SSH copy scripts do by comparing hashes, done once per
 * content instead of once per host and path).
 */
export class FileCache {
  readonly root: string

  constructor (root: string) {
    this.root = root
  }

  path (sha256: string): string {
    if (!SHA256.test(sha256)) throw new Error(`not a sha256: ${sha256.slice(0, 80)}`)
    return join(this.root, sha256.slice(0, 2), sha256)
  }

  /** A hit marks the file used now: the janitor evicts least recently used files first and never a fresh one. */
  async has (sha256: string): Promise<boolean> {
    const path = this.path(sha256)
    const held = await stat(path).then(s => s.isFile(), () => false)
    if (held) {
      const now = new Date()
      await utimes(path, now, now).catch(() => {})
    }
    return held
  }

  /**
   * A held file for a peer to read (the file protocol): only whole, verified files are in the
   * cache, never a transfer in progress. Marks it used, as has() does.
   */
  async open (sha256: string): Promise<{ size: number, read: () => AsyncIterable<Uint8Array> } | undefined> {
    const path = this.path(sha256)
    const st = await stat(path).catch(() => undefined)
    if (st == null || !st.isFile()) return undefined
    const now = new Date()
    await utimes(path, now, now).catch(() => {})
    return { size: st.size, read: () => createReadStream(path, { highWaterMark: 1024 * 1024 }) as AsyncIterable<Uint8Array> }
  }

  /**
   * Receives one file: chunks are hashed while written to a temp file, which is renamed into the
   * cache only when size and hash match. A bad transfer leaves nothing behind.
   */
  async receive (sha256: string, size: number, chunks: AsyncIterable<Uint8Array>): Promise<void> {
    const dest = this.path(sha256)
    await mkdir(dirname(dest), { recursive: true })
    const tmp = `${dest}.${randomBytes(6).toString('hex')}.part`
    const out = createWriteStream(tmp, { mode: 0o600 })
    const hash = createHash('sha256')
    let received = 0
    try {
      for await (const chunk of chunks) {
        received += chunk.byteLength
        if (received > size) throw new Error(`file ${sha256.slice(0, 12)}… is longer than its declared ${size} bytes`)
        hash.update(chunk)
        if (!out.write(chunk)) await new Promise<void>(resolve => out.once('drain', () => { resolve() }))
      }
      await new Promise<void>((resolve, reject) => { out.end((err?: Error | null) => { if (err != null) reject(err); else resolve() }) })
      if (received !== size) throw new Error(`file ${sha256.slice(0, 12)}… ended after ${received} of ${size} bytes`)
      const actual = hash.digest('hex')
      if (actual !== sha256) throw new Error(`file content hashes to ${actual.slice(0, 12)}…, not ${sha256.slice(0, 12)}…`)
      await rename(tmp, dest)
    } catch (err) {
      out.destroy()
      await rm(tmp, { force: true })
      throw err
    }
  }

  /** Copies a cached file to `dest` inside `workDir`; refuses paths that escape it. */
  async materialise (sha256: string, workDir: string, dest: string): Promise<void> {
    const target = safeJoin(workDir, dest)
    await mkdir(dirname(target), { recursive: true })
    // a reflink where the file system has them (btrfs, xfs): no second full write of a large
    // input; elsewhere a plain copy. Never a hard link: the task may change its copy
    await copyFile(this.path(sha256), target, fsConstants.COPYFILE_FICLONE)
  }
}

/** Joins a relative path under a root; throws when the result would leave the root. */
export function safeJoin (root: string, rel: string): string {
  const base = resolve(root)
  const target = resolve(base, rel)
  if (target === base || !target.startsWith(base + sep)) throw new Error(`path '${rel}' escapes the work dir`)
  return target
}
