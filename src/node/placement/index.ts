/**
 * Placement: which peer runs a task, and on which NUMA node. A pure function over a snapshot of
 * peers (no I/O, no clock, no randomness), built as Nomad's scheduler is: feasibility filters, then
 * ranking. The dispatcher calls it on its peer table; a runner calls it again on itself alone to
 * re-check an offer against its own, fresher numbers. See README.md for the pipeline.
 */
import { rejection, fit } from './filters.js'
import { rank } from './rank.js'
import type { Feasible } from './rank.js'

/** A peer as placement sees it (from its latest heartbeat). */
export interface Candidate {
  peerId: string
  name: string
  online: boolean
  tags: string[]
  numa: Array<{ id: number, cores: number, freeCores: number, memoryMB: number, freeMemoryMB: number }>
  gpus: number
  freeGpus: number
  running: number
  numactl: boolean
  /** this node itself; ranked like any other peer */
  self?: boolean
}

export interface PlacementRequest {
  /** seeds the tie-break: the same task places reproducibly, different tasks spread */
  taskId: string
  /** all-of */
  tags: string[]
  cores: number
  memoryMB: number
  gpus: number
  numa: 'any' | 'none' | number
  /** `--target PEER[:NUMA]`: only that peer (by peer id), capacity still checked; its numa overrides */
  target?: { peerId: string, numa?: number }
  /** peers already tried (retries) */
  exclude?: string[]
}

export interface Choice {
  peerId: string
  /** null for numa 'none' */
  numaNode: number | null
  /** the primary ranking key: free cores left on the chosen node (numa 'none': machine) after placement */
  score: number
}

/** Why a peer cannot take the task, for the CLI ("no peer can take the task: …"). */
export interface Exclusion {
  peerId: string
  name: string
  reason: string
}

export type PlacementResult =
  | { ok: true, choices: Choice[], excluded: Exclusion[] }
  | { ok: false, excluded: Exclusion[] }

/** Filters every peer, ranks the feasible ones best first; the dispatcher tries them in order. */
export function place (request: PlacementRequest, peers: readonly Candidate[]): PlacementResult {
  const feasible: Feasible[] = []
  const excluded: Exclusion[] = []
  for (const peer of peers) {
    const reason = rejection(request, peer)
    const where = reason == null ? fit(request, peer) : reason
    if (typeof where === 'string') excluded.push({ peerId: peer.peerId, name: peer.name, reason: where })
    else feasible.push({ peer, fit: where })
  }
  const target = request.target?.peerId
  if (target != null && !peers.some(p => p.peerId === target)) {
    excluded.push({ peerId: target, name: target, reason: 'target not known to this node' })
  }
  if (feasible.length === 0) return { ok: false, excluded }
  return { ok: true, choices: rank(request.taskId, feasible), excluded }
}

/** `no peer can take the task: peerA: missing tag junos; peerB: offline` (one line). */
export function formatExclusions (excluded: readonly Exclusion[]): string {
  if (excluded.length === 0) return 'no peer can take the task: no peers known'
  return `no peer can take the task: ${excluded.map(e => `${e.name}: ${e.reason}`).join('; ')}`
}

export { FILTERS, fit, rejection, numaRequest } from './filters.js'
export type { Filter, Fit } from './filters.js'
export { rank, tieBreak } from './rank.js'
