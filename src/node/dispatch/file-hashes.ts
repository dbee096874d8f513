import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { stat } from 'node:fs/promises'
import type { BigIntStats } from 'node:fs'

/** A file's SHA-256, with what stat said of it when the hash was taken. */
export interface FileHash {
  sha256: string
  size: number
  /** permission bits, for the runner's copy */
  mode: number
  /** device, inode, size, mtime and ctime before it was read: while they stay, so do its bytes */
  identity: string
}

/**
 * Hashes of files to stage, remembered while the file stays the same: pushing one big input again
 * (a second run, --all after --all) no longer reads and hashes all of it. Same as git's index: a
 * file counts as unchanged while its device, inode, size, mtime and ctime are; ctime moves on every
 * write and cannot be set back by the writer.
 */
export interface FileHashes {
  /** `path`: an absolute path to a regular file (checked by the caller); stat and read errors are thrown as they are */
  hash: (path: string) => Promise<FileHash>
  /** answers from memory, and files read and hashed, since the start */
  stats: () => { hits: number, reads: number, entries: number }
}

export interface FileHashesInit {
  /** paths remembered, least recently used dropped first (default 1,024) */
  maxEntries?: number
  /**
   * A file changed less than this long before it was hashed is hashed again next time (default 2 s).
   * File timestamps move in clock ticks of a few ms: a write in the same tick as the hash could
   * leave size, mtime and ctime as they were ("racily clean" in git's terms).
   */
  settleMs?: number
  now?: () => number
}

const CHUNK_BYTES = 1024 * 1024

export function createFileHashes (init: FileHashesInit = {}): FileHashes {
  const maxEntries = init.maxEntries ?? 1024
  const settleNs = BigInt(Math.round((init.settleMs ?? 2000) * 1e6))
  const now = init.now ?? Date.now
  const entries = new Map<string, FileHash>()
  let hits = 0
  let reads = 0

  return {
    stats: () => ({ hits, reads, entries: entries.size }),
    async hash (path) {
      const before = await stat(path, { bigint: true })
      const identity = fileIdentity(before)
      const known = entries.get(path)
      if (known?.identity === identity) {
        // most recently used last: the Map's order is the eviction order
        entries.delete(path)
        entries.set(path, known)
        hits++
        return { sha256: known.sha256, size: known.size, mode: Number(before.mode & 0o777n), identity }
      }
      const startedNs = BigInt(now()) * 1_000_000n
      reads++
      const digest = createHash('sha256')
      for await (const chunk of createReadStream(path, { highWaterMark: CHUNK_BYTES })) digest.update(chunk as Buffer)
      const sha256 = digest.digest('hex')
      const after = await stat(path, { bigint: true })
      const result = { sha256, size: Number(before.size), mode: Number(before.mode & 0o777n), identity }
      entries.delete(path)
      // changed while read, or too recently to trust its timestamps: use this hash once, keep none
      if (fileIdentity(after) !== identity || startedNs - after.ctimeNs < settleNs) return result
      entries.set(path, result)
      while (entries.size > maxEntries) entries.delete(entries.keys().next().value as string)
      return result
    }
  }
}

/** what git's index compares: a file whose identity is unchanged has not been written */
export function fileIdentity (st: BigIntStats): string {
  return `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`
}
