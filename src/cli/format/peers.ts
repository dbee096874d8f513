import { table } from './table.js'
import { formatAgo, formatMemory, shortId } from './units.js'
import type { PeerEntry } from '../../node/views.js'

function numa (p: PeerEntry): string {
  if (p.numa.length === 0) return '-'
  return p.numa.map(n => `${n.id}:${n.freeCores}/${n.cores}`).join(' ')
}

function address (p: PeerEntry): string {
  // a lab reaches peers on their LAN address; show loopback only when there is nothing else
  const nonLoop = p.addresses.find(a => !a.startsWith('/ip4/127.') && !a.startsWith('/ip6/::1'))
  return (nonLoop ?? p.addresses[0] ?? '-').replace(/\/p2p\/.*$/, '')
}

export function formatPeers (peers: PeerEntry[], now: Date = new Date()): string {
  if (peers.length === 0) return 'no peers known yet'
  const rows = peers.map(p => [
    p.name === '' ? '?' : p.name + (p.self ? ' (self)' : ''),
    shortId(p.id),
    p.state,
    p.tags.join(',') || '-',
    p.cores == null ? '-' : `${p.freeCores ?? '?'}/${p.cores}`,
    formatMemory(p.memoryMB),
    numa(p),
    p.gpus.length === 0 ? '-' : String(p.gpus.length),
    p.running == null ? '-' : String(p.running),
    p.self ? 'now' : formatAgo(p.lastSeen, now),
    address(p)
  ])
  return table(['NAME', 'ID', 'STATE', 'TAGS', 'CORES', 'MEMORY', 'NUMA free/total', 'GPUS', 'TASKS', 'LAST SEEN', 'ADDRESS'], rows)
}
