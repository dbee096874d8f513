/**
 * The only I/O of this module: rooted file reads (so tests and MESH_SYSFS_ROOT can point at a fake
 * machine in a folder), a command runner, and a PATH search. Parsing lives elsewhere and is pure.
 */
import { execFile } from 'node:child_process'
import { access, constants as fsConstants, readFile, readdir } from 'node:fs/promises'
import { delimiter, isAbsolute, join, posix, resolve as resolvePath } from 'node:path'
import type { CommandRunner, SystemReader } from './index.js'

/** Reads `/sys/...` and `/proc/...` below `root` (default '/', the real machine). */
export function createSystemReader (root = '/'): SystemReader {
  const base = resolvePath(root)
  const below = (path: string): string => {
    // Absolute and '..'-free, so a reader rooted at a fixture can never read the host's files.
    if (!posix.isAbsolute(path) || path.split('/').includes('..')) {
      throw new Error(`system reader: path must be absolute without '..', got ${JSON.stringify(path)}`)
    }
    return join(base, path)
  }
  return {
    root: base,
    readFile: async (path) => await readFile(below(path), 'utf8'),
    readdir: async (path) => (await readdir(below(path))).sort(),
    exists: async (path) => {
      const full = below(path)
      try {
        await access(full, fsConstants.F_OK)
        return true
      } catch {
        return false
      }
    }
  }
}

/** Output beyond this is not a GPU list; cut it off rather than buffer without bound. */
const MAX_OUTPUT_BYTES = 1024 * 1024

/** Runs a program without a shell; never rejects: a missing binary or a timeout gives code null. */
export const runCommand: CommandRunner = async (file, args, opts) => {
  return await new Promise((resolve) => {
    try {
      execFile(file, args, { timeout: opts.timeoutMs, maxBuffer: MAX_OUTPUT_BYTES, encoding: 'utf8', windowsHide: true },
        (err, stdout) => {
          if (err === null) { resolve({ code: 0, stdout }); return }
          // err.code is the exit status for a program that ran, or a string ('ENOENT') when it did not.
          const code: unknown = err.code
          resolve({ code: typeof code === 'number' ? code : null, stdout })
        })
    } catch {
      // execFile throws synchronously on arguments it cannot pass (e.g. a NUL byte).
      resolve({ code: null, stdout: '' })
    }
  })
}

/** First executable called `name` in the PATH-style list `searchPath`, on the real filesystem. */
export async function findExecutable (name: string, searchPath: string): Promise<string | undefined> {
  for (const dir of searchPath.split(delimiter)) {
    // An empty or relative entry means "the current directory": never trust it for a probe.
    if (dir === '' || !isAbsolute(dir)) continue
    const candidate = join(dir, name)
    try {
      await access(candidate, fsConstants.X_OK)
      return candidate
    } catch {
      // not here, or not executable: keep looking
    }
  }
  return undefined
}
