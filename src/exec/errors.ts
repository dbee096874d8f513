import { MeshError } from '../errors.js'

/**
 * An executor could not start a task. Thrown by `launch()` only; once a task has started, every
 * outcome (including "command not found") is an ExitStatus, never an exception.
 *
 * `retryable` says whether launching the same spec again may succeed: true for transient host
 * conditions (EAGAIN, descriptor exhaustion, a shut-down executor), false when the spec itself or
 * this host cannot run it (no image, bad command shape, missing work dir).
 */
export class LaunchError extends Error {
  readonly retryable: boolean

  constructor (message: string, retryable: boolean, options?: ErrorOptions) {
    super(message, options)
    this.name = 'LaunchError'
    this.retryable = retryable
  }
}

/**
 * An executor cannot run anything on this host (no systemd as PID 1, no container engine...).
 * Retrying on this host does not help until an operator fixes it, hence `retryable` is false.
 */
export class ExecutorUnavailableError extends MeshError {
  readonly executor: string
  readonly reason: string
  readonly retryable = false

  constructor (executor: string, reason: string, options?: ErrorOptions) {
    super(`executor ${executor} is unavailable: ${reason}`, 1, options)
    this.name = 'ExecutorUnavailableError'
    this.executor = executor
    this.reason = reason
  }
}
