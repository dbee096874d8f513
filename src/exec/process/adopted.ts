/**
 * A task launched by an earlier run of this daemon and still running: not our child, so no 'exit'
 * event. Its identity (pid + start time) is polled, its end read from the exit file, and signals,
 * timeout and cancel go to its process group exactly as for a live ProcessHandle.
 */
import { EXIT_CODE_CANCELLED, EXIT_CODE_TIMED_OUT } from '../constants.js'
import { startTimer } from '../timer.js'
import { readExitFile } from './exit-file.js'
import { signalGroup } from './group.js'
import { formatDuration } from './handle.js'
import { isSameProcess } from './procstat.js'
import type { ExitStatus, Handle } from '../index.js'
import type { Logger } from '../../node/logger.js'

export interface AdoptSpec {
  pid: number
  startTime: string
  exitFile: string
  /** when the task started (the original launch) */
  startedAt: Date
  /** the task's whole timeout; what is left of it is enforced from now (0: none) */
  timeoutMs: number
  killGraceMs: number
  /** how often to look whether it still runs */
  pollMs?: number
  log: Logger
}

interface Ending { state: 'timed_out' | 'cancelled', error: string }

export class AdoptedHandle implements Handle {
  readonly pid: number
  readonly #spec: AdoptSpec
  readonly #done = Promise.withResolvers<ExitStatus>()
  #finished = false
  #ending: Ending | undefined
  #stopTimeout: () => void = () => {}
  #stopGrace: () => void = () => {}
  readonly #poll: ReturnType<typeof setInterval>

  constructor (spec: AdoptSpec) {
    this.pid = spec.pid
    this.#spec = spec
    if (spec.timeoutMs > 0) {
      // an already spent timeout fires at once (startTimer treats 0 as never)
      const left = Math.max(1, spec.timeoutMs - (Date.now() - spec.startedAt.getTime()))
      this.#stopTimeout = startTimer(left, () => { this.#terminate({ state: 'timed_out', error: `timed out after ${formatDuration(spec.timeoutMs)}` }) })
    }
    this.#poll = setInterval(() => { void this.#check() }, spec.pollMs ?? 250)
  }

  async wait (): Promise<ExitStatus> {
    return await this.#done.promise
  }

  signal (sig: NodeJS.Signals): void {
    if (!this.#finished) signalGroup(this.pid, sig)
  }

  async cancel (reason?: string): Promise<ExitStatus> {
    this.#terminate({ state: 'cancelled', error: reason == null || reason === '' ? 'cancelled' : `cancelled: ${reason}` })
    return await this.#done.promise
  }

  #terminate (ending: Ending): void {
    if (this.#finished || this.#ending != null) return
    this.#ending = ending
    this.#stopTimeout()
    if (!(this.#spec.killGraceMs > 0)) {
      signalGroup(this.pid, 'SIGKILL')
      return
    }
    signalGroup(this.pid, 'SIGTERM')
    this.#stopGrace = startTimer(this.#spec.killGraceMs, () => { if (!this.#finished) signalGroup(this.pid, 'SIGKILL') })
  }

  async #check (): Promise<void> {
    if (this.#finished || await isSameProcess(this.pid, this.#spec.startTime)) return
    if (this.#finished) return
    this.#finished = true
    clearInterval(this.#poll)
    this.#stopTimeout()
    this.#stopGrace()
    // as for a live task: the group goes with its first process
    signalGroup(this.pid, 'SIGKILL')
    const recorded = await readExitFile(this.#spec.exitFile)
    const times = { startedAt: this.#spec.startedAt, finishedAt: new Date() }
    const ending = this.#ending
    let status: ExitStatus
    if (ending != null) {
      status = { state: ending.state, exitCode: ending.state === 'timed_out' ? EXIT_CODE_TIMED_OUT : EXIT_CODE_CANCELLED, signal: recorded?.signal ?? null, error: ending.error, ...times }
    } else if (recorded == null) {
      status = { state: 'failed', exitCode: null, signal: null, error: 'the task ended without recording an exit status (killed together with its wrapper)', ...times }
    } else if (recorded.exitCode === 0) {
      status = { state: 'succeeded', exitCode: 0, signal: null, ...times }
    } else if (recorded.exitCode != null) {
      status = { state: 'failed', exitCode: recorded.exitCode, signal: null, error: `exited with code ${recorded.exitCode}`, ...times }
    } else {
      status = { state: 'failed', exitCode: null, signal: recorded.signal, error: `killed by signal ${recorded.signal ?? 'unknown'}`, ...times }
    }
    this.#spec.log.debug({ pid: this.pid, state: status.state, exitCode: status.exitCode }, 'adopted task ended')
    this.#done.resolve(status)
  }
}

/** A Handle for a task an earlier daemon started, or undefined when that process is gone. */
export async function adoptProcess (spec: AdoptSpec): Promise<Handle | undefined> {
  if (!await isSameProcess(spec.pid, spec.startTime)) return undefined
  return new AdoptedHandle(spec)
}
