/**
 * Feasibility: one small function per rule, each answering "why this peer cannot take the task"
 * (a reason for the user) or undefined. They run in FILTERS order and the first reason wins, so a
 * peer is reported by the most basic thing wrong with it.
 */
import type { Candidate, PlacementRequest } from './index.js'

export type Filter = (request: PlacementRequest, peer: Candidate) => string | undefined

/** Where the task would run on a peer that fits. */
export interface Fit {
  /** the NUMA node to bind to; null for numa 'none' */
  numaNode: number | null
  /** free cores left on that node (numa 'none': on the whole machine) once the task is placed */
  freeCoresAfter: number
}

export const online: Filter = (_request, peer) => peer.online ? undefined : 'offline'

export const target: Filter = (request, peer) =>
  request.target == null || request.target.peerId === peer.peerId ? undefined : 'not the target'

/** All-of, as GitHub and GitLab match runner labels: the peer holds every tag the task asks for. */
export const tags: Filter = (request, peer) => {
  const held = new Set(peer.tags)
  const missing = [...new Set(request.tags)].filter(t => !held.has(t)).sort()
  if (missing.length === 0) return undefined
  return `missing tag${missing.length > 1 ? 's' : ''} ${missing.join(', ')}`
}

export const gpus: Filter = (request, peer) => {
  if (request.gpus <= peer.freeGpus) return undefined
  return `needs ${plural(request.gpus, 'GPU')}, has ${peer.freeGpus} free (of ${peer.gpus})`
}

export const numa: Filter = (request, peer) => {
  const result = fit(request, peer)
  return typeof result === 'string' ? result : undefined
}

export const notExcluded: Filter = (request, peer) =>
  request.exclude?.includes(peer.peerId) === true ? 'already tried' : undefined

/** In order: the cheap, most basic rules first, capacity after, retries last. */
export const FILTERS: ReadonlyArray<readonly [string, Filter]> = [
  ['online', online],
  ['target', target],
  ['tags', tags],
  ['gpus', gpus],
  ['numa', numa],
  ['not-excluded', notExcluded]
]

/** The first failing filter's reason, or undefined when the peer is feasible. */
export function rejection (request: PlacementRequest, peer: Candidate): string | undefined {
  for (const [, filter] of FILTERS) {
    const reason = filter(request, peer)
    if (reason != null) return reason
  }
  return undefined
}

/** The NUMA request that applies: a target's node overrides the task's. */
export function numaRequest (request: PlacementRequest): 'any' | 'none' | number {
  return request.target?.numa ?? request.numa
}

/**
 * Where on the peer the task fits, or why it does not. 'any' takes the node with most free cores
 * (tie: lowest id) among those with enough free cores and memory; a number requires that node (and
 * numactl to bind to it, unless the machine has a single node); 'none' counts machine-wide totals.
 */
export function fit (request: PlacementRequest, peer: Candidate): Fit | string {
  const { cores, memoryMB } = request
  const wanted = numaRequest(request)
  const nodes = [...peer.numa].sort((a, b) => a.id - b.id)

  if (wanted === 'none') {
    const freeCores = sum(nodes.map(n => n.freeCores))
    const freeMemoryMB = sum(nodes.map(n => n.freeMemoryMB))
    if (freeCores < cores) return `needs ${plural(cores, 'core')}, has ${freeCores} free`
    if (freeMemoryMB < memoryMB) return `needs ${memoryMB} MB memory, has ${freeMemoryMB} MB free`
    return { numaNode: null, freeCoresAfter: freeCores - cores }
  }

  if (nodes.length === 0) return 'advertises no NUMA nodes'

  if (typeof wanted === 'number') {
    const node = nodes.find(n => n.id === wanted)
    if (node == null) return `has no NUMA node ${wanted} (nodes: ${nodes.map(n => n.id).join(', ')})`
    if (!peer.numactl && nodes.length > 1) return `cannot bind to NUMA node ${wanted} (no numactl)`
    if (node.freeCores < cores) return `needs ${plural(cores, 'core')}, NUMA node ${wanted} has ${node.freeCores} free`
    if (node.freeMemoryMB < memoryMB) return `needs ${memoryMB} MB memory, NUMA node ${wanted} has ${node.freeMemoryMB} MB free`
    return { numaNode: node.id, freeCoresAfter: node.freeCores - cores }
  }

  let best: (typeof nodes)[number] | undefined
  for (const node of nodes) {
    if (node.freeCores < cores || node.freeMemoryMB < memoryMB) continue
    if (best == null || node.freeCores > best.freeCores) best = node
  }
  if (best != null) return { numaNode: best.id, freeCoresAfter: best.freeCores - cores }
  if (!nodes.some(n => n.freeCores >= cores)) {
    return `no NUMA node has ${plural(cores, 'free core')} (${nodes.map(n => `${n.id}: ${n.freeCores}`).join(', ')})`
  }
  return `no NUMA node has ${plural(cores, 'free core')} and ${memoryMB} MB free memory (${nodes.map(n => `${n.id}: ${n.freeCores} cores ${n.freeMemoryMB} MB`).join(', ')})`
}

function sum (values: number[]): number {
  return values.reduce((a, b) => a + b, 0)
}

function plural (n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`
}
