/**
 * Requests of one protocol in flight to each peer: at most `limit` at once, the others wait here
 * in order. A peer resets our streams past its per-peer limit (`limitPerPeer`), so without this a
 * burst to one peer failed past that limit: offers to a big runner as uncertain attempts, a
 * scripted `mesh cancel` of many tasks as errors. Hand-written rather than @libp2p/utils' Queue: a
 * Queue job ends when its caller's signal aborts while the request still holds its stream, and
 * this count must follow the stream.
 */
import { toError } from '../errors.js'

export class PeerGate {
  private readonly limit: number
  private readonly byPeer = new Map<string, { running: number, waiting: Array<() => void> }>()

  constructor (limit: number) {
    this.limit = limit
  }

  /** Waits for a turn to `peer`; the function returned ends it (once, whatever calls it again). */
  async enter (peer: string, signal?: AbortSignal): Promise<() => void> {
    signal?.throwIfAborted()
    let entry = this.byPeer.get(peer)
    if (entry == null) {
      entry = { running: 0, waiting: [] }
      this.byPeer.set(peer, entry)
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
      this.leave(peer)
    }
  }

  /** peers with requests in flight or waiting (entries go when the last one leaves) */
  get peers (): number {
    return this.byPeer.size
  }

  private leave (peer: string): void {
    const entry = this.byPeer.get(peer)
    if (entry == null) return
    const next = entry.waiting.shift()
    if (next != null) {
      next()
      return
    }
    entry.running--
    if (entry.running === 0) this.byPeer.delete(peer)
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
