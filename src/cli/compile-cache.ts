import * as nodeModule from 'node:module'
import { homedir } from 'node:os'
import { isAbsolute, join } from 'node:path'

// a namespace import, each call optional: on a Node without the API (before 22.8) mesh runs, uncached
const api = nodeModule as Partial<typeof nodeModule>

/**
 * Where `mesh` keeps V8's compiled code: NODE_COMPILE_CACHE if set, else a directory of the user's
 * own ($XDG_CACHE_HOME or ~/.cache, then mesh/compile-cache). Never Node's default under the shared
 * os.tmpdir(): another local user could create that directory first and plant compiled code that a
 * daemon running as root would then execute.
 */
export function compileCacheDir (env: NodeJS.ProcessEnv = process.env, home: () => string = homedir): string {
  const chosen = env.NODE_COMPILE_CACHE
  if (chosen != null && chosen !== '') return chosen
  // the XDG spec: a relative XDG_CACHE_HOME is invalid and ignored
  const xdg = env.XDG_CACHE_HOME
  return join(xdg != null && isAbsolute(xdg) ? xdg : join(home(), '.cache'), 'mesh', 'compile-cache')
}

/** Turns the cache on for every module loaded from now on; best effort (no home: uncached). */
export function enableCompileCache (): void {
  try {
    api.enableCompileCache?.(compileCacheDir())
  } catch {
    // no home directory to put it in
  }
}

/** Writes what was compiled so far (a long-running daemon may never exit cleanly); a no-op when the cache is off. */
export function flushCompileCache (): void {
  api.flushCompileCache?.()
}
