import { place } from '../placement/index.js'
import type { Usage } from '../advert.js'
import type { Capabilities } from '../capabilities/index.js'
import type { Candidate } from '../placement/index.js'

export interface Reservation {
  taskId: string
  numaNode: number | null
  /** where the cores are counted: the bound node, or for numa 'none' the node with most free cores */
  chargedNode: number
  cores: number
  memoryMB: number
}

export interface ReserveRequest {
  taskId: string
  cores: number
  memoryMB: number
  gpus: number
  numa: 'any' | 'none' | number
  tags: string[]
}

/**
 * Cores and memory in use per NUMA node. The runner re-checks every offer here with the same pure
 * placement the dispatcher used, against its own up-to-date numbers (the dispatcher's view is a
 * heartbeat old).
 */
export class Ledger {
  private readonly caps: Capabilities
  private readonly usage: Usage
  private readonly selfId: string
  private readonly tags: () => string[]
  private readonly name: () => string
  private readonly held = new Map<string, Reservation>()

  constructor (selfId: string, caps: Capabilities, usage: Usage, tags: () => string[], name: () => string) {
    this.selfId = selfId
    this.caps = caps
    this.usage = usage
    this.tags = tags
    this.name = name
  }

  candidate (): Candidate {
    return {
      peerId: this.selfId,
      // the node's own name, as its peers see it: it prefixes the output of the tasks it runs
      // for its own `push --all`, and names it in placement's reasons
      name: this.name(),
      online: true,
      tags: this.tags(),
      numa: this.caps.numaNodes.map(n => ({
        id: n.id,
        cores: n.cpus.length,
        freeCores: Math.max(0, n.cpus.length - (this.usage.cores.get(n.id) ?? 0)),
        memoryMB: n.memoryMB,
        freeMemoryMB: Math.max(0, n.memoryMB - (this.usage.memoryMB.get(n.id) ?? 0))
      })),
      gpus: this.caps.gpus.length,
      freeGpus: this.caps.gpus.length,
      running: this.usage.running,
      numactl: this.caps.numactl
    }
  }

  reserve (req: ReserveRequest): { ok: true, reservation: Reservation } | { ok: false, reason: string } {
    if (this.held.has(req.taskId)) return { ok: false, reason: `task ${req.taskId} is already held by this runner` }
    const result = place({ taskId: req.taskId, tags: req.tags, cores: req.cores, memoryMB: req.memoryMB, gpus: req.gpus, numa: req.numa }, [this.candidate()])
    const choice = result.ok ? result.choices[0] : undefined
    if (choice == null) return { ok: false, reason: result.excluded[0]?.reason ?? 'does not fit' }
    const chargedNode = choice.numaNode ?? this.mostFreeNode()
    const reservation: Reservation = { taskId: req.taskId, numaNode: choice.numaNode, chargedNode, cores: req.cores, memoryMB: req.memoryMB }
    this.held.set(req.taskId, reservation)
    this.usage.cores.set(chargedNode, (this.usage.cores.get(chargedNode) ?? 0) + req.cores)
    this.usage.memoryMB.set(chargedNode, (this.usage.memoryMB.get(chargedNode) ?? 0) + req.memoryMB)
    this.usage.running++
    return { ok: true, reservation }
  }

  /** Holds a reservation made before a restart (an adopted task), whatever the capacity says now. */
  restore (r: Reservation): void {
    if (this.held.has(r.taskId)) return
    this.held.set(r.taskId, r)
    this.usage.cores.set(r.chargedNode, (this.usage.cores.get(r.chargedNode) ?? 0) + r.cores)
    this.usage.memoryMB.set(r.chargedNode, (this.usage.memoryMB.get(r.chargedNode) ?? 0) + r.memoryMB)
    this.usage.running++
  }

  release (taskId: string): void {
    const r = this.held.get(taskId)
    if (r == null) return
    this.held.delete(taskId)
    this.usage.cores.set(r.chargedNode, Math.max(0, (this.usage.cores.get(r.chargedNode) ?? 0) - r.cores))
    this.usage.memoryMB.set(r.chargedNode, Math.max(0, (this.usage.memoryMB.get(r.chargedNode) ?? 0) - r.memoryMB))
    this.usage.running = Math.max(0, this.usage.running - 1)
  }

  private mostFreeNode (): number {
    const nodes = this.candidate().numa
    return nodes.reduce((best, n) => n.freeCores > best.freeCores ? n : best, nodes[0] ?? { id: 0, freeCores: 0 }).id
  }
}
