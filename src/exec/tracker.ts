import { LaunchError } from './errors.js'
import type { Handle } from './index.js'

export const SHUTDOWN_REASON = 'executor shut down'

/** The handles an executor still has running, so `shutdown()` can cancel them. */
export class TaskSet {
  readonly #handles = new Set<Handle>()
  #closed = false

  get size (): number {
    return this.#handles.size
  }

  /** throws a retryable LaunchError once shut down: another runner (or a restart) can take the task */
  checkOpen (): void {
    if (this.#closed) throw new LaunchError('executor is shut down', true)
  }

  /** tracks `handle` until it ends; a launch that raced with shutdown is cancelled at once */
  add<H extends Handle> (handle: H): H {
    this.#handles.add(handle)
    void handle.wait().then(() => this.#handles.delete(handle))
    if (this.#closed) void handle.cancel(SHUTDOWN_REASON)
    return handle
  }

  async shutdown (): Promise<void> {
    this.#closed = true
    await Promise.all([...this.#handles].map(async (handle) => await handle.cancel(SHUTDOWN_REASON)))
  }
}
