import { readdir, rm, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { errnoCode } from '../home.js'

/**
 * What a runner keeps on disk, bounded. Without this every task left its work dir (a copy of each
 * input, whatever it wrote) and its logs in MESH_HOME/tasks forever, and every file ever received
 * stayed in MESH_HOME/cache: a lab machine staging a 256 MiB input per run filled its disk.
 *
 *   tasks/<id>.<attempt>/  removed `keepTaskDirsMs` after the task ended (its exit file's time);
 *                          never while it runs here
 *   cache/<xx>/<sha256>    least recently used first (a hit touches the file) until the cache
 *                          holds at most `maxCacheBytes`; never a file used in the last
 *                          RECENT_USE_MS (an offer answered "I hold it" commits within 2 min)
 *   cache/…/*.part         transfers cut off by a crash, after STALE_PART_MS
 */
export interface SweepInit {
  tasksDir: string
  cacheDir: string
  keepTaskDirsMs: number
  maxCacheBytes: number
  /** `<id>.<attempt>` of the tasks that still run (or are being launched) here */
  inUse: () => ReadonlySet<string>
  now?: number
}

export interface SweepResult {
  taskDirs: number
  cacheFiles: number
  cacheBytesFreed: number
  /** what the cache holds afterwards */
  cacheBytes: number
}

export const DEFAULT_KEEP_TASK_DIRS_MS = 7 * 86_400_000
export const DEFAULT_MAX_CACHE_BYTES = 10 * 1024 ** 3
export const RECENT_USE_MS = 10 * 60_000
export const STALE_PART_MS = 60 * 60_000

export async function sweep (init: SweepInit): Promise<SweepResult> {
  const now = init.now ?? Date.now()
  const taskDirs = await sweepTaskDirs(init, now)
  return { taskDirs, ...(await sweepCache(init, now)) }
}

async function sweepTaskDirs (init: SweepInit, now: number): Promise<number> {
  const inUse = init.inUse()
  let removed = 0
  for (const name of await list(init.tasksDir)) {
    if (inUse.has(name)) continue
    const dir = join(init.tasksDir, name)
    // the wrapper writes `exit` when the task ends; a dir without one (launch failed, adopted
    // task lost) counts from its own last change
    const ended = await mtime(join(dir, 'exit')) ?? await mtime(dir)
    if (ended == null || now - ended < init.keepTaskDirsMs) continue
    // in use may have changed while we looked: a task launched under this name just now
    if (init.inUse().has(name)) continue
    await rm(dir, { recursive: true, force: true })
    removed++
  }
  return removed
}

async function sweepCache (init: SweepInit, now: number): Promise<Omit<SweepResult, 'taskDirs'>> {
  const files: Array<{ path: string, bytes: number, used: number }> = []
  let total = 0
  for (const shard of await list(init.cacheDir)) {
    for (const name of await list(join(init.cacheDir, shard))) {
      const path = join(init.cacheDir, shard, name)
      const st = await stat(path).catch(() => undefined)
      if (st == null || !st.isFile()) continue
      if (name.endsWith('.part')) {
        if (now - st.mtimeMs > STALE_PART_MS) await rm(path, { force: true })
        continue
      }
      // a cached file's mtime is fixed (FileCache.SEALED_MTIME); each use sets its atime
      files.push({ path, bytes: st.size, used: st.atimeMs })
      total += st.size
    }
  }
  let cacheFiles = 0
  let cacheBytesFreed = 0
  files.sort((a, b) => a.used - b.used)
  for (const f of files) {
    if (total <= init.maxCacheBytes) break
    if (now - f.used < RECENT_USE_MS) break
    await rm(f.path, { force: true })
    total -= f.bytes
    cacheFiles++
    cacheBytesFreed += f.bytes
  }
  return { cacheFiles, cacheBytesFreed, cacheBytes: total }
}

async function list (dir: string): Promise<string[]> {
  try {
    return await readdir(dir)
  } catch (err) {
    // ENOTDIR: a file at the cache's top (its marker), not a shard
    if (errnoCode(err) === 'ENOENT' || errnoCode(err) === 'ENOTDIR') return []
    throw err
  }
}

async function mtime (path: string): Promise<number | undefined> {
  return stat(path).then(s => s.mtimeMs, () => undefined)
}
