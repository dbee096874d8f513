/**
 * Finds out before spawning whether a program can be executed, so a missing command reads the
 * same ("command not found: foo", 127) whether it runs bare or behind numactl / systemd-run,
 * which would otherwise report it in their own words. spawn's ENOENT stays the backstop.
 */
import { constants as fsConstants } from 'node:fs'
import { access, stat } from 'node:fs/promises'
import { delimiter, resolve } from 'node:path'
import { EXIT_CODE_NOT_EXECUTABLE, EXIT_CODE_NOT_FOUND } from './constants.js'

export interface CommandProblem {
  error: string
  exitCode: number
}

export function notFound (program: string): CommandProblem {
  return { error: `command not found: ${program}`, exitCode: EXIT_CODE_NOT_FOUND }
}

export function notExecutable (program: string): CommandProblem {
  return { error: `permission denied: ${program}`, exitCode: EXIT_CODE_NOT_EXECUTABLE }
}

type Probe = 'ok' | 'missing' | 'denied'

async function probe (file: string): Promise<Probe> {
  try {
    if (!(await stat(file)).isFile()) return 'denied'
    await access(file, fsConstants.X_OK)
    return 'ok'
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    return code === 'ENOENT' || code === 'ENOTDIR' ? 'missing' : 'denied'
  }
}

/**
 * Looks `program` up as execvp(3) would: a name with a slash relative to `cwd`, a bare name along
 * `path` (empty entries mean `cwd`). Returns undefined when it can be executed.
 */
export async function checkProgram (program: string, opts: { path: string, cwd: string }): Promise<CommandProblem | undefined> {
  if (program.includes('/')) {
    const found = await probe(resolve(opts.cwd, program))
    if (found === 'ok') return undefined
    return found === 'missing' ? notFound(program) : notExecutable(program)
  }
  let denied = false
  for (const dir of opts.path.split(delimiter)) {
    const found = await probe(resolve(opts.cwd, dir, program))
    if (found === 'ok') return undefined
    if (found === 'denied') denied = true
  }
  return denied ? notExecutable(program) : notFound(program)
}
