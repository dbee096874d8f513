/**
 * What this machine can run: logical CPUs, memory, NUMA topology, GPUs and whether numactl is there
 * to pin a task to a node. Read once at start and advertised in heartbeats.
 *
 *   reader (sysfs/proc, rooted) ──▶ cpus.ts / memory.ts / numa.ts ──┐
 *   PATH + runner (nvidia-smi)  ──▶ gpus.ts                         ├──▶ Capabilities
 *   PATH (numactl)              ──▶ findExecutable                  ┘
 *
 * All file access goes through an injected SystemReader rooted anywhere, so tests (and daemons
 * started with MESH_SYSFS_ROOT) can be a two-NUMA-node machine in a folder: see
 * test/fixtures/sysfs/. Programs (numactl, nvidia-smi) are looked up on the real PATH.
 */
import { availableParallelism, totalmem } from 'node:os'
import { InvalidFileError } from '../../errors.js'
import { CPU_ONLINE_PATH, NUMACTL, PROC_MEMINFO_PATH } from './constants.js'
import { readOnlineCpus } from './cpus.js'
import { readGpus } from './gpus.js'
import { readMemTotalMB } from './memory.js'
import { readNumaNodes } from './numa.js'
import { createSystemReader, findExecutable, runCommand } from './reader.js'

export { createSystemReader, findExecutable, runCommand } from './reader.js'
export { parseCpuList, formatCpuList } from './cpulist.js'
export { parseMemTotalMB } from './memory.js'
export { parseNvidiaSmiCsv } from './gpus.js'
export { summarize } from './summary.js'
export { bindsNuma } from './binding.js'
export { InvalidCpuListError } from './errors.js'

export interface NumaNode {
  id: number
  /** online CPUs of the node; [] for a memory-only node (CXL, HBM) */
  cpus: number[]
  memoryMB: number
}

export interface Gpu {
  index: number
  name: string
  memoryMB: number
  uuid?: string
}

export interface Capabilities {
  /** online logical CPUs */
  cores: number
  /** MemTotal */
  memoryMB: number
  /** sorted by id, never empty */
  numaNodes: NumaNode[]
  gpus: Gpu[]
  /** `numactl` binary found on PATH */
  numactl: boolean
}

/** Rooted file access, injectable for tests. */
export interface SystemReader {
  /** the directory paths are joined to; '/' is the real machine (which unlocks os.* fallbacks) */
  readonly root?: string
  /** `path` is absolute like '/sys/devices/...'; joined to the root */
  readFile (path: string): Promise<string>
  readdir (path: string): Promise<string[]>
  exists (path: string): Promise<boolean>
}

/** Must never throw for a missing program (ENOENT): `code` is null then, and on a timeout. */
export type CommandRunner = (file: string, args: string[], opts: { timeoutMs: number }) => Promise<{ code: number | null, stdout: string }>

export interface CapabilitiesInit {
  reader?: SystemReader
  run?: CommandRunner
  /** PATH to search for numactl/nvidia-smi; default process.env.PATH */
  path?: string
}

async function readCpus (reader: SystemReader, real: boolean): Promise<number[]> {
  const cpus = await readOnlineCpus(reader)
  if (cpus !== undefined) return cpus
  // Only the real machine may be described by os.*; a fixture missing the file is a broken fixture.
  if (real) return Array.from({ length: availableParallelism() }, (_, i) => i)
  throw new InvalidFileError(CPU_ONLINE_PATH, `missing below ${reader.root ?? 'the reader root'}`)
}

async function readMemoryMB (reader: SystemReader, real: boolean): Promise<number> {
  // Same rule as the CPUs: os.totalmem() stands in on hosts without /proc (macOS) only.
  if (real && !await reader.exists(PROC_MEMINFO_PATH)) return Math.floor(totalmem() / (1024 * 1024))
  return await readMemTotalMB(reader, PROC_MEMINFO_PATH)
}

export async function readCapabilities (init: CapabilitiesInit = {}): Promise<Capabilities> {
  const reader = init.reader ?? createSystemReader()
  const searchPath = init.path ?? process.env.PATH ?? ''
  const real = reader.root === '/'

  const [cpus, memoryMB, gpus, numactl] = await Promise.all([
    readCpus(reader, real),
    readMemoryMB(reader, real),
    readGpus({ run: init.run ?? runCommand, path: searchPath }),
    findExecutable(NUMACTL, searchPath).then((found) => found !== undefined)
  ])
  const numaNodes = await readNumaNodes(reader, { cpus, memoryMB })
  return { cores: cpus.length, memoryMB, numaNodes, gpus, numactl }
}
