/** One human line per machine, for `mesh id` and logs. */
import { formatCpuList } from './cpulist.js'
import type { Capabilities } from './index.js'

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`
const gib = (mb: number): string => `${(mb / 1024).toFixed(1)} GiB`

/** e.g. "8 cores, 31.3 GiB, 2 NUMA nodes (0: 0-3, 1: 4-7), no GPU" */
export function summarize (caps: Capabilities): string {
  const nodes = caps.numaNodes
    .map((node) => `${node.id}: ${node.cpus.length === 0 ? 'memory only' : formatCpuList(node.cpus)}`)
    .join(', ')
  const gpus = caps.gpus.length === 0
    ? 'no GPU'
    : `${plural(caps.gpus.length, 'GPU')} (${caps.gpus.map((gpu) => `${gpu.index}: ${gpu.name} ${gib(gpu.memoryMB)}`).join(', ')})`
  return `${plural(caps.cores, 'core')}, ${gib(caps.memoryMB)}, ${plural(caps.numaNodes.length, 'NUMA node')} (${nodes}), ${gpus}`
}
