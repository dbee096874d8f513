/**
 * A mock task: timers instead of a process. It ends by itself after `sleep`, or on timeout or
 * cancel the way a real task does: SIGTERM, exits after `term` unless that exceeds the grace,
 * then SIGKILL. Same states and exit codes as the process executor.
 */
import { EXIT_CODE_CANCELLED, EXIT_CODE_TIMED_OUT } from '../constants.js'
import type { ExitStatus, Handle } from '../index.js'
import { formatDuration } from '../process/handle.js'
import { startTimer } from '../timer.js'
import type { MockScript } from './script.js'

interface Ending {
  state: 'timed_out' | 'cancelled'
  error: string
}

/** startTimer treats 0 as "never"; here 0 means "on the next turn of the loop" (Infinity still never). */
function after (ms: number, fn: () => void): () => void {
  if (ms > 0) return startTimer(ms, fn)
  const immediate = setImmediate(fn)
  return () => { clearImmediate(immediate) }
}

const TERMINATING: ReadonlySet<string> = new Set(['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGQUIT'])

export class MockHandle implements Handle {
  readonly pid = undefined
  /** every signal the task received, in order (for assertions) */
  readonly signals: NodeJS.Signals[] = []
  readonly #script: MockScript
  readonly #killGraceMs: number
  readonly #startedAt = new Date()
  readonly #done = Promise.withResolvers<ExitStatus>()
  readonly #timers: Array<() => void> = []
  #finished = false
  #ending: Ending | undefined

  constructor (script: MockScript, opts: { timeoutMs: number, killGraceMs: number }) {
    this.#script = script
    this.#killGraceMs = opts.killGraceMs
    this.#timers.push(after(script.sleepMs, () => { this.#end(script.signal, script.signal === null ? script.exitCode : null) }))
    this.#timers.push(startTimer(opts.timeoutMs, () => {
      this.#terminate({ state: 'timed_out', error: `timed out after ${formatDuration(opts.timeoutMs)}` })
    }))
  }

  async wait (): Promise<ExitStatus> {
    return await this.#done.promise
  }

  signal (sig: NodeJS.Signals): void {
    if (this.#finished) return
    this.signals.push(sig)
    if (sig === 'SIGKILL') this.#end('SIGKILL', null)
    else if (TERMINATING.has(sig) && Number.isFinite(this.#script.termMs)) {
      this.#timers.push(after(this.#script.termMs, () => { this.#end(sig, null) }))
    }
  }

  async cancel (reason?: string): Promise<ExitStatus> {
    this.#terminate({ state: 'cancelled', error: reason === undefined || reason === '' ? 'cancelled' : `cancelled: ${reason}` })
    return await this.#done.promise
  }

  #terminate (ending: Ending): void {
    if (this.#finished || this.#ending !== undefined) return
    this.#ending = ending
    if (!(this.#killGraceMs > 0)) {
      this.signal('SIGKILL')
      return
    }
    this.signal('SIGTERM')
    this.#timers.push(startTimer(this.#killGraceMs, () => { this.signal('SIGKILL') }))
  }

  #end (signal: NodeJS.Signals | null, code: number | null): void {
    if (this.#finished) return
    this.#finished = true
    for (const stop of this.#timers) stop()
    const times = { startedAt: this.#startedAt, finishedAt: new Date() }
    const ending = this.#ending
    if (ending !== undefined) {
      const exitCode = ending.state === 'timed_out' ? EXIT_CODE_TIMED_OUT : EXIT_CODE_CANCELLED
      this.#done.resolve({ state: ending.state, exitCode, signal, error: ending.error, ...times })
    } else if (signal !== null) {
      this.#done.resolve({ state: 'failed', exitCode: null, signal, error: `killed by signal ${signal}`, ...times })
    } else if (code === 0) {
      this.#done.resolve({ state: 'succeeded', exitCode: 0, signal: null, ...times })
    } else {
      this.#done.resolve({ state: 'failed', exitCode: code, signal: null, error: `exited with code ${code ?? 'unknown'}`, ...times })
    }
  }
}
