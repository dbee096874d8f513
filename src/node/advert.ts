import type { Capabilities } from './capabilities/index.js'
import type { AdvertBody, NumaAdvert } from '../protocols/heartbeat/index.js'

/** What is in use on this node right now; the executor (dispatch issue) fills it in. */
export interface Usage {
  running: number
  /** cores reserved per NUMA node id */
  cores: Map<number, number>
  /** MB reserved per NUMA node id */
  memoryMB: Map<number, number>
}

export function emptyUsage (): Usage {
  return { running: 0, cores: new Map(), memoryMB: new Map() }
}

export interface AdvertSource {
  name: string
  version: string
  tags: string[]
  addresses: string[]
  capabilities: Capabilities
  usage: Usage
}

/** Pure: the body of this node's heartbeat, from its capabilities and current usage. */
export function buildAdvert (src: AdvertSource): AdvertBody {
  const numa: NumaAdvert[] = src.capabilities.numaNodes.map(n => {
    const cores = n.cpus.length
    return {
      id: n.id,
      cores,
      freeCores: Math.max(0, cores - (src.usage.cores.get(n.id) ?? 0)),
      memoryMB: n.memoryMB,
      freeMemoryMB: Math.max(0, n.memoryMB - (src.usage.memoryMB.get(n.id) ?? 0))
    }
  })
  return {
    name: src.name,
    version: src.version,
    addresses: src.addresses.slice(0, 32),
    tags: src.tags,
    cores: src.capabilities.cores,
    memoryMB: src.capabilities.memoryMB,
    numa,
    gpus: src.capabilities.gpus.map(g => ({ index: g.index, name: g.name, memoryMB: g.memoryMB })),
    numactl: src.capabilities.numactl,
    running: src.usage.running
  }
}
