/**
 * The host facts `available()` looks at, behind one injectable interface so every reason an
 * executor gives can be tested without systemd or a container engine on the test machine.
 */
import { execFile } from 'node:child_process'
import { access, readFile } from 'node:fs/promises'
import { findExecutable } from '../node/capabilities/index.js'
import { PROBE_MAX_OUTPUT_BYTES } from './constants.js'

export interface ProbeResult {
  /** exit code; null when the program did not run or was killed (timeout) */
  code: number | null
  stdout: string
  stderr: string
  /** why there is no code: 'ENOENT', 'timed out after 5000 ms'... */
  error?: string
}

export interface HostProbe {
  /** first executable `name` on PATH */
  which (name: string): Promise<string | undefined>
  exists (path: string): Promise<boolean>
  /** undefined when unreadable */
  readFile (path: string): Promise<string | undefined>
  /** runs without a shell; never rejects */
  run (file: string, args: string[], timeoutMs: number, env?: NodeJS.ProcessEnv): Promise<ProbeResult>
}

/** The real host; `path` defaults to the daemon's PATH. */
export function hostProbe (path = process.env.PATH ?? ''): HostProbe {
  return {
    which: async (name) => findExecutable(name, path),
    exists: async (file) => await access(file).then(() => true, () => false),
    readFile: async (file) => await readFile(file, 'utf8').catch(() => undefined),
    run: runProbe
  }
}

export async function runProbe (file: string, args: string[], timeoutMs: number, env?: NodeJS.ProcessEnv): Promise<ProbeResult> {
  return await new Promise((resolve) => {
    try {
      execFile(file, args, { timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: PROBE_MAX_OUTPUT_BYTES, encoding: 'utf8', env },
        (err, stdout, stderr) => {
          if (err === null) { resolve({ code: 0, stdout, stderr }); return }
          const code: unknown = err.code
          if (typeof code === 'number') { resolve({ code, stdout, stderr }); return }
          const error = err.killed ? `timed out after ${timeoutMs} ms` : typeof code === 'string' ? code : err.message
          resolve({ code: null, stdout, stderr, error })
        })
    } catch (err) {
      resolve({ code: null, stdout: '', stderr: '', error: err instanceof Error ? err.message : String(err) })
    }
  })
}

/** The first non-empty line of a probe's stderr (or stdout), for a one-line reason. */
export function firstLine (result: ProbeResult): string {
  const text = `${result.stderr}\n${result.stdout}`
  return text.split('\n').map((line) => line.trim()).find((line) => line !== '') ?? ''
}
