import type { AdvertBody, NumaAdvert, GpuAdvert } from '../protocols/heartbeat/index.js'
import type { PeerView } from './peer-table/index.js'
import type { TagHolder } from '../protocols/tags/index.js'
import type { LivenessState } from './liveness/index.js'

/**
 * What `mesh peers --json` prints for each peer. Field names are a stable contract for scripts:
 * add fields, never rename or remove one.
 */
export interface PeerEntry {
  id: string
  name: string
  self: boolean
  /** 'discovered': found as a tag holder in the DHT, no heartbeat heard yet */
  state: 'online' | 'offline' | 'discovered'
  addresses: string[]
  tags: string[]
  cores: number | null
  freeCores: number | null
  memoryMB: number | null
  numa: NumaAdvert[]
  gpus: GpuAdvert[]
  running: number | null
  numactl: boolean | null
  version: string | null
  /** ISO-8601; null for a peer only known from the DHT */
  lastSeen: string | null
  /** where this node learned of the peer */
  sources: Array<'heartbeat' | 'dht' | 'self'>
  /** peers heard in heartbeats: the failure detector's verdict ('dead' ones show state offline) */
  liveness?: LivenessState
}

export interface NodeInfo extends PeerEntry {
  home: string
  pid: number
  startedAt: string
  swarmKey: boolean
  /** 'open': no mesh authority configured, every swarm member is trusted for everything */
  trust: 'open' | 'authority'
  /** this node's certificate, in authority mode */
  certificate: { name: string, roles: string[], tags: string[], notAfter: string, issuer: string } | null
  revocationVersion: number
  /** the executor running tasks here, and why the others cannot */
  executors: { using: string, unavailable: Array<{ name: string, reason: string }> }
  connections: number
  knownPeers: number
  onlinePeers: number
}

function fromAdvert (id: string, a: AdvertBody): Omit<PeerEntry, 'self' | 'state' | 'lastSeen' | 'sources'> {
  return {
    id,
    name: a.name,
    addresses: a.addresses,
    tags: a.tags,
    cores: a.cores,
    freeCores: a.numa.reduce((n, x) => n + x.freeCores, 0),
    memoryMB: a.memoryMB,
    numa: a.numa,
    gpus: a.gpus,
    running: a.running,
    numactl: a.numactl,
    version: a.version
  }
}

export function selfEntry (id: string, advert: AdvertBody, now: Date): PeerEntry {
  return { ...fromAdvert(id, advert), self: true, state: 'online', lastSeen: now.toISOString(), sources: ['self'] }
}

export interface PeerEntriesInput {
  self: PeerEntry
  table: PeerView[]
  /** DHT providers of `tag`, when a tag was asked for */
  holders: TagHolder[]
  tag?: string
  /** the failure detector's state of a peer */
  liveness?: (peerId: string) => LivenessState
}

/**
 * Pure: the rows of `mesh peers`. Self first, then the peer table; with a tag, only peers that hold
 * it by their heartbeat or by a DHT provider record, merged by peer id.
 */
export function peerEntries (input: PeerEntriesInput): PeerEntry[] {
  const { tag } = input
  const rows = new Map<string, PeerEntry>()
  if (tag == null || input.self.tags.includes(tag)) rows.set(input.self.id, input.self)
  for (const p of input.table) {
    if (p.advert.peerId === input.self.id) continue
    if (tag != null && !p.advert.tags.includes(tag)) continue
    rows.set(p.advert.peerId, {
      ...fromAdvert(p.advert.peerId, p.advert),
      self: false,
      state: p.state,
      lastSeen: new Date(p.lastSeen).toISOString(),
      sources: ['heartbeat'],
      ...(input.liveness != null ? { liveness: input.liveness(p.advert.peerId) } : {})
    })
  }
  for (const h of input.holders) {
    if (tag == null) break
    if (h.peerId === input.self.id) continue
    const row = rows.get(h.peerId)
    if (row != null) {
      if (!row.sources.includes('dht') && !row.self) row.sources.push('dht')
      continue
    }
    rows.set(h.peerId, {
      id: h.peerId,
      name: '',
      self: false,
      state: 'discovered',
      addresses: h.addresses,
      tags: [tag],
      cores: null,
      freeCores: null,
      memoryMB: null,
      numa: [],
      gpus: [],
      running: null,
      numactl: null,
      version: null,
      lastSeen: null,
      sources: ['dht']
    })
  }
  return [...rows.values()]
}
