/**
 * Stored logs are bounded: a task printing without end must not fill the runner's disk. The task
 * writes its log files itself (so it can outlive the daemon), hence the bound is kept from outside:
 * past `maxBytes` the file is cut to its newest half behind a one-line note. A write landing while
 * the file is being cut may be lost; the note says output was dropped anyway.
 */
import { open } from 'node:fs/promises'

export async function enforceLogLimit (path: string, maxBytes: number): Promise<boolean> {
  const fh = await open(path, 'r+').catch(() => undefined)
  if (fh == null) return false
  try {
    const { size } = await fh.stat()
    if (size <= maxBytes) return false
    const keep = Math.floor(maxBytes / 2)
    const tail = Buffer.alloc(keep)
    const { bytesRead } = await fh.read(tail, 0, keep, size - keep)
    const note = Buffer.from(`mesh: log exceeded ${maxBytes} bytes; ${size - bytesRead} earlier bytes were dropped\n`)
    await fh.write(note, 0, note.byteLength, 0)
    await fh.write(tail, 0, bytesRead, note.byteLength)
    await fh.truncate(note.byteLength + bytesRead)
    return true
  } finally {
    await fh.close()
  }
}
