/**
 * Ranking of feasible peers. Spread, do not pack: a lab mesh runs short tasks of many people, and
 * the peer left with most room answers the next task best.
 *
 *   1. most free cores left on the chosen NUMA node (numa 'none': on the machine) after placement
 *   2. fewer running tasks
 *   3. a hash of taskId + peerId: the same task places the same way every time (retries, tests,
 *      two dispatchers deciding alike) while different tasks spread across equal peers
 */
import type { Fit } from './filters.js'
import type { Candidate, Choice } from './index.js'

export interface Feasible {
  peer: Candidate
  fit: Fit
}

/** Best first. Does not modify its input. */
export function rank (taskId: string, feasible: readonly Feasible[]): Choice[] {
  return feasible
    .map(f => ({ ...f, tie: tieBreak(taskId, f.peer.peerId) }))
    .sort((a, b) =>
      b.fit.freeCoresAfter - a.fit.freeCoresAfter ||
      a.peer.running - b.peer.running ||
      a.tie - b.tie ||
      compare(a.peer.peerId, b.peer.peerId))
    .map(f => ({ peerId: f.peer.peerId, numaNode: f.fit.numaNode, score: f.fit.freeCoresAfter }))
}

/**
 * FNV-1a (32 bit) of `taskId NUL peerId`, then murmur3's finaliser so peer ids differing in their
 * last byte still land far apart: cheap, stable across nodes and versions, no randomness.
 */
export function tieBreak (taskId: string, peerId: string): number {
  let hash = 0x811c9dc5
  for (const byte of new TextEncoder().encode(`${taskId}\u0000${peerId}`)) {
    hash ^= byte
    hash = Math.imul(hash, 0x01000193)
  }
  hash ^= hash >>> 16
  hash = Math.imul(hash, 0x85ebca6b)
  hash ^= hash >>> 13
  hash = Math.imul(hash, 0xc2b2ae35)
  hash ^= hash >>> 16
  return hash >>> 0
}

function compare (a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}
