/**
 * The mechanics every process-based executor shares (process, systemd, container): check the
 * work dir and the programs, open the logs, spawn detached, and hand back a ProcessHandle.
 */
import { spawn } from 'node:child_process'
import { stat } from 'node:fs/promises'
import { LaunchError } from '../errors.js'
import type { ExitStatus, Handle } from '../index.js'
import type { Logger } from '../../node/logger.js'
import { checkProgram } from '../resolve.js'
import { finishedHandle, ProcessHandle } from './handle.js'
import { wrapWithExitFile } from './exit-file.js'
import { isTransient, noteInLog, openOutputs } from './outputs.js'

export interface ProcessOptions {
  /** [program, ...args], run without a shell */
  argv: string[]
  /** the complete environment (nothing is inherited) */
  env: Record<string, string>
  cwd: string
  stdout: string
  stderr: string
  /** record the exit status here through a wrapper shell, so the task can be adopted after a restart */
  exitFile?: string
  timeoutMs: number
  killGraceMs: number
  /** programs looked up before spawning: a missing one is a `failed` status, not an exception */
  programs: string[]
  onSignal?: (sig: NodeJS.Signals) => void
  log: Logger
}

async function checkWorkDir (cwd: string): Promise<void> {
  let isDir: boolean
  try {
    isDir = (await stat(cwd)).isDirectory()
  } catch (err) {
    throw new LaunchError(`work dir ${cwd} does not exist or is unreadable`, isTransient(err), { cause: err })
  }
  if (!isDir) throw new LaunchError(`work dir ${cwd} is not a directory`, false)
}

function failed (error: string, exitCode: number | null): ExitStatus {
  const now = new Date()
  return { state: 'failed', exitCode, signal: null, startedAt: now, finishedAt: now, error }
}

export async function startProcess (opts: ProcessOptions): Promise<Handle> {
  const [program] = opts.argv
  if (program === undefined) throw new LaunchError('command is empty', false)
  await checkWorkDir(opts.cwd)

  for (const name of opts.programs) {
    const problem = await checkProgram(name, { path: opts.env.PATH ?? '', cwd: opts.cwd })
    if (problem !== undefined) {
      await noteInLog(opts.stderr, problem.error)
      return finishedHandle(failed(problem.error, problem.exitCode))
    }
  }

  const outputs = await openOutputs(opts.stdout, opts.stderr)
  const [file, ...fileArgs] = opts.exitFile != null ? wrapWithExitFile(opts.argv, opts.exitFile) : opts.argv
  let handle: ProcessHandle
  try {
    const child = spawn(file ?? program, fileArgs, {
      cwd: opts.cwd,
      env: opts.env,
      detached: true,
      stdio: ['ignore', outputs.stdout, outputs.stderr],
      windowsHide: true
    })
    handle = new ProcessHandle(child, { program, timeoutMs: opts.timeoutMs, killGraceMs: opts.killGraceMs, onSignal: opts.onSignal, log: opts.log })
  } catch (err) {
    // spawn throws synchronously for arguments it cannot pass; nothing was started
    throw new LaunchError(`cannot start ${program}: ${(err as Error).message}`, isTransient(err), { cause: err })
  } finally {
    // the child holds its own copies of the descriptors from here on
    await outputs.close()
  }

  const err = await handle.started
  if (err !== undefined && handle.pid === undefined) {
    if (isTransient(err)) throw new LaunchError(`cannot start ${program}: ${err.message}`, true, { cause: err })
    const status = await handle.wait()
    if (status.error !== undefined) await noteInLog(opts.stderr, status.error)
  } else {
    opts.log.debug({ pid: handle.pid, program }, 'task started')
  }
  return handle
}
