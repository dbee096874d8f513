/**
 * One task the dispatcher placed and watches until it ends for good: which attempt runs where,
 * which runners it already lost, and a change signal for followers (`mesh push` streaming its
 * output re-attaches to each new attempt).
 */
export interface TrackState {
  id: string
  attempt: number
  runner: string | null
  runnerName: string | null
  numaNode: number | null
  /** runners an earlier attempt was lost on; a retry prefers others */
  tried: string[]
  done: boolean
  /** the highest attempt handed to a runner so far (written before each push) */
  offered?: number
}

export class Track {
  readonly state: TrackState
  private waiters: Array<() => void> = []

  constructor (state: TrackState) {
    this.state = state
  }

  /** A new attempt is placed (or the task ended): wake everyone waiting for a change. */
  changed (): void {
    const w = this.waiters
    this.waiters = []
    for (const fn of w) fn()
  }

  /** Resolves at the next change, or at once when `signal` aborts. */
  async nextChange (signal: AbortSignal): Promise<void> {
    if (this.state.done || signal.aborted) return
    await new Promise<void>(resolve => {
      const done = (): void => { signal.removeEventListener('abort', done); resolve() }
      this.waiters.push(done)
      signal.addEventListener('abort', done, { once: true })
    })
  }

  placed (runner: string, runnerName: string, numaNode: number | null): void {
    Object.assign(this.state, { runner, runnerName, numaNode })
    this.changed()
  }

  finish (): void {
    this.state.done = true
    this.changed()
  }
}
