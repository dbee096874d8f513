/**
 * The kernel's cpulist format (`0-3,8,10-11`), used by sysfs for CPUs and NUMA nodes alike and by
 * numactl/taskset for pinning, so one parser serves reading and one formatter serves launching.
 */
import { MAX_CPU_ID } from './constants.js'
import { InvalidCpuListError } from './errors.js'

const ITEM = /^(\d+)(?:-(\d+))?$/

/** "0-3,8,10-11" -> [0,1,2,3,8,10,11], sorted and deduplicated; "" (a memory-only node) -> []. */
export function parseCpuList (list: string): number[] {
  const trimmed = list.trim()
  if (trimmed === '') return []
  const cpus = new Set<number>()
  for (const raw of trimmed.split(',')) {
    const item = raw.trim()
    const match = ITEM.exec(item)
    if (match === null) throw new InvalidCpuListError(item, 'expected N or N-M')
    const first = Number(match[1])
    const last = match[2] === undefined ? first : Number(match[2])
    if (last < first) throw new InvalidCpuListError(item, 'range end is before its start')
    if (last > MAX_CPU_ID) throw new InvalidCpuListError(item, `cpu id above ${MAX_CPU_ID}`)
    for (let cpu = first; cpu <= last; cpu++) cpus.add(cpu)
  }
  return [...cpus].sort((a, b) => a - b)
}

/** Inverse of parseCpuList: [0,1,2,3,8,10,11] -> "0-3,8,10-11" (input order and duplicates ignored). */
export function formatCpuList (cpus: number[]): string {
  for (const cpu of cpus) {
    if (!Number.isSafeInteger(cpu) || cpu < 0) throw new InvalidCpuListError(String(cpu), 'not a cpu id')
  }
  const sorted = [...new Set(cpus)].sort((a, b) => a - b)
  const parts: string[] = []
  let i = 0
  while (i < sorted.length) {
    const first = sorted[i] as number
    let last = first
    while (sorted[i + 1] === last + 1) { last++; i++ }
    parts.push(first === last ? String(first) : `${first}-${last}`)
    i++
  }
  return parts.join(',')
}
