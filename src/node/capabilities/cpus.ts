/** cpulist files in sysfs, read through the injected reader. */
import { InvalidFileError } from '../../errors.js'
import { CPU_ONLINE_PATH } from './constants.js'
import { parseCpuList } from './cpulist.js'
import type { SystemReader } from './index.js'

/** Parses a cpulist file, naming the file when its content is garbage. */
export async function readCpuListFile (reader: SystemReader, path: string): Promise<number[]> {
  const text = await reader.readFile(path)
  try {
    return parseCpuList(text)
  } catch (err) {
    throw new InvalidFileError(path, (err as Error).message, 1, { cause: err })
  }
}

/** Online logical CPUs, or undefined when the kernel (or fixture) has no such file. */
export async function readOnlineCpus (reader: SystemReader): Promise<number[] | undefined> {
  if (!await reader.exists(CPU_ONLINE_PATH)) return undefined
  return await readCpuListFile(reader, CPU_ONLINE_PATH)
}
