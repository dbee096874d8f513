import { open } from 'node:fs/promises'

/** The last `maxChars` characters (roughly: read as bytes, decoded leniently) of a log file. */
export async function readTail (path: string, maxBytes: number): Promise<string> {
  const fh = await open(path, 'r').catch(() => undefined)
  if (fh == null) return ''
  try {
    const { size } = await fh.stat()
    const start = Math.max(0, size - maxBytes)
    const buf = Buffer.alloc(size - start)
    await fh.read(buf, 0, buf.byteLength, start)
    const text = buf.toString('utf8')
    return start > 0 ? '…[truncated]\n' + text.slice(Math.min(text.length, 16)) : text
  } finally {
    await fh.close()
  }
}
