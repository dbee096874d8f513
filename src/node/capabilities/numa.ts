/**
 * NUMA topology from /sys/devices/system/node. Kernels built without NUMA, and some containers,
 * have no such directory: the machine is then one node 0 holding every online CPU and all memory,
 * so placement code never has to special-case "no topology".
 */
import { InvalidFileError } from '../../errors.js'
import { NODE_DIR, NODE_ONLINE_PATH } from './constants.js'
import { readCpuListFile } from './cpus.js'
import { readMemTotalMB } from './memory.js'
import type { NumaNode, SystemReader } from './index.js'

/** What the fallback single node holds. */
export interface WholeMachine {
  cpus: number[]
  memoryMB: number
}

/** Node ids from `online`, else from the `nodeN` directory names (older or trimmed sysfs). */
async function readNodeIds (reader: SystemReader): Promise<number[]> {
  if (await reader.exists(NODE_ONLINE_PATH)) return await readCpuListFile(reader, NODE_ONLINE_PATH)
  const ids: number[] = []
  for (const entry of await reader.readdir(NODE_DIR)) {
    const match = /^node(\d+)$/.exec(entry)
    if (match !== null) ids.push(Number(match[1]))
  }
  return ids.sort((a, b) => a - b)
}

async function readNode (reader: SystemReader, id: number, online: Set<number>): Promise<NumaNode> {
  const dir = `${NODE_DIR}/node${id}`
  if (!await reader.exists(dir)) throw new InvalidFileError(dir, `node ${id} is listed online but has no directory`)
  const [cpus, memoryMB] = await Promise.all([
    readCpuListFile(reader, `${dir}/cpulist`),
    readMemTotalMB(reader, `${dir}/meminfo`, id)
  ])
  // A node's mask can name CPUs that are offline now; nothing may be pinned to those.
  return { id, cpus: cpus.filter((cpu) => online.has(cpu)), memoryMB }
}

/** Nodes sorted by id, never empty; memory-only nodes are kept with `cpus: []`. */
export async function readNumaNodes (reader: SystemReader, machine: WholeMachine): Promise<NumaNode[]> {
  const ids = await reader.exists(NODE_DIR) ? await readNodeIds(reader) : []
  if (ids.length === 0) return [{ id: 0, cpus: [...machine.cpus], memoryMB: machine.memoryMB }]
  const online = new Set(machine.cpus)
  return await Promise.all(ids.map(async (id) => await readNode(reader, id, online)))
}
