/**
 * Tasks no peer can take yet sleep between placement rounds (placeRetryMs: 0.5 s growing to 5 s,
 * so thousands of them stay cheap). A sleep alone leaves capacity idle for up to 5 s after it frees:
 * a backlog of 1-second tasks on a big runner ran at half its speed. So a peer whose capacity may
 * have grown (its advert, this node's own ledger) wakes the waiting tasks that now fit on it.
 *
 * Only as many as fit: the walk deducts each woken task from a copy of the peer's free cores,
 * memory and GPUs, in the order the tasks began waiting, so one freed core wakes one task, not the
 * whole queue. Within a walk the copy only shrinks, so a shape (tags, resources, target) that did
 * not fit once is skipped without checking again: a queue of 10,000 tasks for a tag nobody has
 * costs a map lookup each per advert. A woken task still places through the usual path (every
 * candidate, ranked) and the runner still has the last word; one that fails waits again.
 */
import { rejection, fit } from '../placement/index.js'
import type { Candidate, PlacementRequest } from '../placement/index.js'

interface Waiter {
  request: PlacementRequest
  /** everything of the request feasibility depends on (not the task id) */
  shape: string
  wake: () => void
}

export class PlacementWaits {
  /** insertion order is waiting order: a task that waits again goes to the back */
  private readonly waiters = new Map<symbol, Waiter>()

  get size (): number {
    return this.waiters.size
  }

  /** Resolves after `ms`, when a change makes `request` fit somewhere, or when `signal` aborts. */
  async wait (request: PlacementRequest, ms: number, signal: AbortSignal): Promise<void> {
    if (signal.aborted) return
    const key = Symbol(request.taskId)
    await new Promise<void>(resolve => {
      const done = (): void => {
        clearTimeout(timer)
        signal.removeEventListener('abort', done)
        this.waiters.delete(key)
        resolve()
      }
      const timer = setTimeout(done, ms)
      signal.addEventListener('abort', done, { once: true })
      this.waiters.set(key, { request, shape: shapeOf(request), wake: done })
    })
  }

  /** `peer`'s capacity may have grown: wakes the waiting tasks it can take, oldest first. Returns how many. */
  changed (peer: Candidate): number {
    if (this.waiters.size === 0 || !peer.online) return 0
    const left: Candidate = { ...peer, numa: peer.numa.map(n => ({ ...n })) }
    const misfits = new Set<string>()
    const woken: Waiter[] = []
    for (const w of this.waiters.values()) {
      if (!left.numa.some(n => n.freeCores > 0)) break
      if (misfits.has(w.shape)) continue
      const where = rejection(w.request, left) ?? fit(w.request, left)
      if (typeof where === 'string') {
        misfits.add(w.shape)
        continue
      }
      deduct(left, w.request, where.numaNode)
      woken.push(w)
    }
    for (const w of woken) w.wake()
    return woken.length
  }
}

/** What placing `request` on node `numaNode` (null: machine-wide) leaves of the peer's capacity. */
function deduct (peer: Candidate, request: PlacementRequest, numaNode: number | null): void {
  peer.freeGpus -= request.gpus
  const nodes = numaNode == null ? peer.numa : peer.numa.filter(n => n.id === numaNode)
  let cores = request.cores
  let memoryMB = request.memoryMB
  for (const n of nodes) {
    const c = Math.min(cores, n.freeCores)
    const m = Math.min(memoryMB, n.freeMemoryMB)
    n.freeCores -= c
    n.freeMemoryMB -= m
    cores -= c
    memoryMB -= m
  }
}

function shapeOf (r: PlacementRequest): string {
  return JSON.stringify([[...r.tags].sort(), r.cores, r.memoryMB, r.gpus, r.numa, r.target?.peerId ?? null, r.target?.numa ?? null, r.exclude ?? []])
}
