import * as nodeModule from 'node:module'
import { homedir } from 'node:os'
import { isAbsolute, join } from 'node:path'

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

/** Writes what was compiled so far (a long-running daemon may never exit cleanly); a no-op when the cache is off. */
export function flushCompileCache (): void {
  (nodeModule as Partial<typeof nodeModule>).flushCompileCache?.()
}
