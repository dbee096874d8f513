/** Memory sizes from `/proc/meminfo` and `/sys/devices/system/node/nodeN/meminfo`. */
import { InvalidFileError } from '../../errors.js'
import type { SystemReader } from './index.js'

/**
 * MemTotal in MB from a meminfo text. `node` selects the per-node form (`Node 1 MemTotal: N kB`);
 * without it the /proc form (`MemTotal: N kB`). Returns undefined when the line is absent.
 */
export function parseMemTotalMB (text: string, node?: number): number | undefined {
  const prefix = node === undefined ? '' : `Node\\s+${node}\\s+`
  const match = new RegExp(`^\\s*${prefix}MemTotal:\\s+(\\d+)\\s*kB\\s*$`, 'm').exec(text)
  if (match === null) return undefined
  return Math.floor(Number(match[1]) / 1024)
}

/** Reads a meminfo file and insists on its MemTotal line: a size we cannot read is not zero. */
export async function readMemTotalMB (reader: SystemReader, path: string, node?: number): Promise<number> {
  const mb = parseMemTotalMB(await reader.readFile(path), node)
  if (mb === undefined) {
    const line = node === undefined ? 'MemTotal: N kB' : `Node ${node} MemTotal: N kB`
    throw new InvalidFileError(path, `no "${line}" line`)
  }
  return mb
}
