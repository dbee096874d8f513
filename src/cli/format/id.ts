import { formatMemory } from './units.js'
import type { NodeInfo } from '../../node/views.js'

export function formatId (i: NodeInfo): string {
  const numa = i.numa.map(n => `${n.id}: ${n.freeCores}/${n.cores} cores free, ${formatMemory(n.memoryMB)}`).join('; ')
  const lines: Array<[string, string]> = [
    ['peer id', i.id],
    ['name', i.name],
    ['addresses', i.addresses.join('\n           ') || '-'],
    ['tags', i.tags.join(', ') || '-'],
    ['cores', `${i.cores ?? '?'} (${i.freeCores ?? '?'} free)`],
    ['memory', formatMemory(i.memoryMB)],
    ['numa', numa || '-'],
    ['gpus', i.gpus.length === 0 ? 'none' : i.gpus.map(g => `${g.index}: ${g.name} ${formatMemory(g.memoryMB)}`).join('; ')],
    ['numactl', i.numactl === true ? 'yes' : 'not installed: tasks run without NUMA binding (apt-get install numactl)'],
    ['executor', i.executors.using + i.executors.unavailable.map(u => `\n           ${u.name} unavailable: ${u.reason}`).join('')],
    ['trust', i.trust === 'open' || i.certificate == null
      ? 'open lab mode: no mesh authority configured, every swarm member is trusted'
      : `authority ${i.certificate.issuer}; certificate '${i.certificate.name}' roles ${i.certificate.roles.join(',')} tags ${i.certificate.tags.join(',') || '-'} until ${i.certificate.notAfter}; revocation list v${i.revocationVersion}`],
    ['swarm key', i.swarmKey ? 'yes' : 'none: any host that reaches the port can join'],
    ['peers', `${i.onlinePeers} online, ${i.knownPeers} known, ${i.connections} connections`],
    ['version', i.version ?? '?'],
    ['home', i.home],
    ['pid', String(i.pid)]
  ]
  return lines.map(([k, v]) => `${k.padEnd(10)} ${v}`).join('\n')
}
