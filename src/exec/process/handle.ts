/**
 * One running task: its process group, its timeout and the SIGTERM → grace → SIGKILL sequence.
 * Decisions (which state, which exit code) are made here once, when the first process exits.
 */
import type { ChildProcess } from 'node:child_process'
import { EXIT_CODE_CANCELLED, EXIT_CODE_TIMED_OUT } from '../constants.js'
import type { ExitStatus, Handle } from '../index.js'
import type { Logger } from '../../node/logger.js'
import { notExecutable, notFound } from '../resolve.js'
import { startTimer } from '../timer.js'
import { signalGroup } from './group.js'

export interface HandleOptions {
  /** the program spawned, for "command not found: X" */
  program: string
  timeoutMs: number
  killGraceMs: number
  /** called with every signal sent to the task (the container executor forwards them to the engine) */
  onSignal?: (sig: NodeJS.Signals) => void
  log: Logger
}

interface Ending {
  state: 'timed_out' | 'cancelled'
  error: string
}

export function formatDuration (ms: number): string {
  return ms >= 1000 ? `${Math.round(ms / 100) / 10}s` : `${ms}ms`
}

/** A handle for a task that never started (the command is missing): already finished. */
export function finishedHandle (status: ExitStatus): Handle {
  return {
    pid: undefined,
    wait: async () => status,
    signal: () => {},
    cancel: async () => status
  }
}

export class ProcessHandle implements Handle {
  readonly #child: ChildProcess
  readonly #opts: HandleOptions
  readonly #startedAt = new Date()
  readonly #done = Promise.withResolvers<ExitStatus>()
  /** resolves when the process was spawned (undefined) or could not be (the error) */
  readonly started: Promise<NodeJS.ErrnoException | undefined>
  #finished = false
  #ending: Ending | undefined
  #stopTimeout: () => void
  #stopGrace: () => void = () => {}

  constructor (child: ChildProcess, opts: HandleOptions) {
    this.#child = child
    this.#opts = opts
    this.started = new Promise((resolve) => {
      child.once('spawn', () => { resolve(undefined) })
      child.once('error', (err: NodeJS.ErrnoException) => {
        // before 'spawn' this is a spawn failure; after it, a failed kill we do not make (we use process.kill)
        if (child.pid === undefined) this.#onSpawnError(err)
        else opts.log.warn({ err }, 'child process error')
        resolve(err)
      })
    })
    child.once('exit', (code, signal) => { this.#onExit(code, signal) })
    this.#stopTimeout = startTimer(opts.timeoutMs, () => {
      this.#terminate({ state: 'timed_out', error: `timed out after ${formatDuration(opts.timeoutMs)}` })
    })
  }

  get pid (): number | undefined {
    return this.#child.pid
  }

  async wait (): Promise<ExitStatus> {
    return await this.#done.promise
  }

  signal (sig: NodeJS.Signals): void {
    if (!this.#finished) this.#send(sig)
  }

  async cancel (reason?: string): Promise<ExitStatus> {
    this.#terminate({ state: 'cancelled', error: reason === undefined || reason === '' ? 'cancelled' : `cancelled: ${reason}` })
    return await this.#done.promise
  }

  #send (sig: NodeJS.Signals): void {
    const pid = this.#child.pid
    if (pid === undefined) return
    this.#opts.log.debug({ pid, signal: sig }, 'signalling task')
    signalGroup(pid, sig)
    this.#opts.onSignal?.(sig)
  }

  #terminate (ending: Ending): void {
    if (this.#finished || this.#ending !== undefined) return
    this.#ending = ending
    this.#stopTimeout()
    const grace = this.#opts.killGraceMs
    if (!(grace > 0)) {
      this.#send('SIGKILL')
      return
    }
    this.#send('SIGTERM')
    this.#stopGrace = startTimer(grace, () => { if (!this.#finished) this.#send('SIGKILL') })
  }

  #onSpawnError (err: NodeJS.ErrnoException): void {
    const { program } = this.#opts
    const problem = err.code === 'EACCES'
      ? notExecutable(program)
      : err.code === 'ENOENT' || err.code === 'ENOTDIR' ? notFound(program) : undefined
    this.#finish({
      state: 'failed',
      exitCode: problem?.exitCode ?? null,
      signal: null,
      error: problem?.error ?? `cannot start ${program}: ${err.message}`
    })
  }

  #onExit (code: number | null, signal: NodeJS.Signals | null): void {
    if (this.#finished) return
    const pid = this.#child.pid
    // The task is the whole group: whatever its first process leaves behind goes with it.
    if (pid !== undefined) signalGroup(pid, 'SIGKILL')
    const ending = this.#ending
    if (ending !== undefined) {
      const exitCode = ending.state === 'timed_out' ? EXIT_CODE_TIMED_OUT : EXIT_CODE_CANCELLED
      this.#finish({ state: ending.state, exitCode, signal, error: ending.error })
    } else if (code === 0) {
      this.#finish({ state: 'succeeded', exitCode: 0, signal: null })
    } else if (code !== null) {
      this.#finish({ state: 'failed', exitCode: code, signal: null, error: `exited with code ${code}` })
    } else {
      this.#finish({ state: 'failed', exitCode: null, signal, error: `killed by signal ${signal ?? 'unknown'}` })
    }
  }

  #finish (status: Omit<ExitStatus, 'startedAt' | 'finishedAt'>): void {
    if (this.#finished) return
    this.#finished = true
    this.#stopTimeout()
    this.#stopGrace()
    const full: ExitStatus = { ...status, startedAt: this.#startedAt, finishedAt: new Date() }
    if (full.error === undefined) delete full.error
    this.#opts.log.debug({ pid: this.#child.pid, state: full.state, exitCode: full.exitCode, signal: full.signal }, 'task ended')
    this.#done.resolve(full)
  }
}
