/**
 * Capacity a runner freed that its advert does not show yet. A runner advertises a capacity change
 * 500 ms after it (coalescing the changes that follow, which keeps fan-outs cheap), but the
 * dispatcher of a task hears of its end sooner, from the signed final record. Until an advert sent
 * after that end arrives, placement counts the task's cores and memory as free again, so a backlog
 * refills a runner's slots at once instead of a coalescing window later.
 *
 * The runner frees a task's reservation before it stamps `finishedAt`, so an advert whose `sentAt`
 * (the same runner's clock) is not older than `finishedAt` already includes the release. Counting a
 * release twice is harmless: the runner re-checks every offer against its own ledger.
 */
import type { Candidate } from '../placement/index.js'

interface Release {
  numaNode: number
  cores: number
  memoryMB: number
  /** the runner's clock, ms since epoch */
  finishedAt: number
}

/** per runner: more releases than this before its next advert are not tracked */
const MAX_PER_PEER = 4096

export class ReleasedCapacity {
  private readonly byPeer = new Map<string, Release[]>()

  /** A task this node placed on `peerId` ended there (its final record says when). */
  note (peerId: string, release: Release): void {
    const list = this.byPeer.get(peerId) ?? []
    if (list.length >= MAX_PER_PEER) return
    list.push(release)
    this.byPeer.set(peerId, list)
  }

  /** `peer` as its advert sent at `sentAt` shows it, plus what it freed since. */
  apply (peer: Candidate, sentAt: number): Candidate {
    const list = this.byPeer.get(peer.peerId)
    if (list == null) return peer
    const pending = list.filter(r => r.finishedAt > sentAt)
    if (pending.length === 0) {
      this.byPeer.delete(peer.peerId)
      return peer
    }
    if (pending.length < list.length) this.byPeer.set(peer.peerId, pending)
    const numa = peer.numa.map(n => {
      const freed = pending.filter(r => r.numaNode === n.id)
      if (freed.length === 0) return n
      return {
        ...n,
        freeCores: Math.min(n.cores, n.freeCores + freed.reduce((s, r) => s + r.cores, 0)),
        freeMemoryMB: Math.min(n.memoryMB, n.freeMemoryMB + freed.reduce((s, r) => s + r.memoryMB, 0))
      }
    })
    return { ...peer, numa }
  }
}
