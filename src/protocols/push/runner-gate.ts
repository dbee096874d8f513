/**
 * The dispatcher's offers in flight to each runner: at most `limit` at once, the others wait here
 * in order. A runner resets a peer's push streams past MAX_PUSH_STREAMS_PER_PEER, so without this
 * a burst of offers to one big runner failed past the limit, each as an uncertain attempt.
 * Hand-written rather than @libp2p/utils' Queue: a Queue job ends when its caller's signal aborts
 * while the push still holds its stream, and this count must follow the stream.
 */
import { toError } from '../../errors.js'

export class RunnerGate {
  private readonly limit: number
  private readonly byRunner = new Map<string, { running: number, waiting: Array<() => void> }>()

  constructor (limit: number) {
    this.limit = limit
  }

  /** Waits for a turn to `runner`; the function returned ends it (once, whatever calls it again). */
  async enter (runner: string, signal?: AbortSignal): Promise<() => void> {
    signal?.throwIfAborted()
    let entry = this.byRunner.get(runner)
    if (entry == null) {
      entry = { running: 0, waiting: [] }
      this.byRunner.set(runner, entry)
    }
    if (entry.running < this.limit) {
      entry.running++
    } else {
      // a turn is handed over by leave(): the count stays as it is
      await waitTurn(entry.waiting, signal)
    }
    let left = false
    return () => {
      if (left) return
      left = true
      this.leave(runner)
    }
  }

  /** runners with offers in flight or waiting (entries go when the last one leaves) */
  get runners (): number {
    return this.byRunner.size
  }

  private leave (runner: string): void {
    const entry = this.byRunner.get(runner)
    if (entry == null) return
    const next = entry.waiting.shift()
    if (next != null) {
      next()
      return
    }
    entry.running--
    if (entry.running === 0) this.byRunner.delete(runner)
  }
}

async function waitTurn (waiting: Array<() => void>, signal?: AbortSignal): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const turn = (): void => {
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }
    const onAbort = (): void => {
      const at = waiting.indexOf(turn)
      if (at >= 0) waiting.splice(at, 1)
      reject(toError(signal?.reason))
    }
    waiting.push(turn)
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}
