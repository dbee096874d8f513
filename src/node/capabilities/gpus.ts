/**
 * NVIDIA GPUs via nvidia-smi. GPUs are a bonus, never a reason to fail start: no binary, a non-zero
 * exit, a timeout or odd output all mean "no GPUs".
 */
import { NVIDIA_SMI, NVIDIA_SMI_ARGS, NVIDIA_SMI_TIMEOUT_MS } from './constants.js'
import { findExecutable } from './reader.js'
import type { CommandRunner, Gpu } from './index.js'

/** nvidia-smi prints "[N/A]" (or "[Not Supported]") for fields a device does not report. */
const NOT_AVAILABLE = /^\[.*\]$/

function parseLine (line: string): Gpu | undefined {
  const fields = line.split(',').map((field) => field.trim())
  if (fields.length < 4) return undefined
  // index first, memory and uuid last: whatever lies between is the name, commas and all.
  const index = fields[0] as string
  const uuid = fields[fields.length - 1] as string
  const memory = fields[fields.length - 2] as string
  const name = fields.slice(1, -2).join(', ')
  if (!/^\d+$/.test(index) || name === '') return undefined
  // Unified-memory parts (e.g. Grace Hopper) report no framebuffer size; keep the GPU, size 0.
  const memoryMB = /^\d+(\.\d+)?$/.test(memory) ? Math.floor(Number(memory)) : NOT_AVAILABLE.test(memory) ? 0 : undefined
  if (memoryMB === undefined) return undefined
  const gpu: Gpu = { index: Number(index), name, memoryMB }
  if (uuid !== '' && !NOT_AVAILABLE.test(uuid)) gpu.uuid = uuid
  return gpu
}

/** Parses `--query-gpu=index,name,memory.total,uuid --format=csv,noheader,nounits`; skips bad lines. */
export function parseNvidiaSmiCsv (stdout: string): Gpu[] {
  const gpus: Gpu[] = []
  for (const line of stdout.split(/\r?\n/)) {
    if (line.trim() === '') continue
    const gpu = parseLine(line)
    if (gpu !== undefined) gpus.push(gpu)
  }
  return gpus.sort((a, b) => a.index - b.index)
}

export interface GpuProbe {
  run: CommandRunner
  /** PATH-style list searched for nvidia-smi */
  path: string
}

export async function readGpus (probe: GpuProbe): Promise<Gpu[]> {
  try {
    const smi = await findExecutable(NVIDIA_SMI, probe.path)
    if (smi === undefined) return []
    const { code, stdout } = await probe.run(smi, NVIDIA_SMI_ARGS, { timeoutMs: NVIDIA_SMI_TIMEOUT_MS })
    return code === 0 ? parseNvidiaSmiCsv(stdout) : []
  } catch {
    // An injected runner may throw despite its contract; a GPU probe still must not.
    return []
  }
}
