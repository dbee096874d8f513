const NEWLINE = 0x0a
const EMPTY = Buffer.alloc(0)

/**
 * pdsh-style output for --all: every line prefixed with the runner's name. Chunks arrive split
 * anywhere, so partial lines are held per (task, stream) until their newline or the end. Works on
 * bytes, never decoding: a character whose UTF-8 bytes straddle two chunks stays whole (a newline
 * byte is never part of a multi-byte character).
 */
export class LinePrefixer {
  private readonly pending = new Map<string, Buffer>()

  /** the whole lines now complete for `key`, each prefixed with `prefix: ` */
  push (key: string, prefix: string, data: Uint8Array): Buffer {
    const held = this.pending.get(key)
    const buffered = held != null ? Buffer.concat([held, data]) : Buffer.from(data)
    const cut = buffered.lastIndexOf(NEWLINE)
    if (cut < 0) {
      this.pending.set(key, buffered)
      return EMPTY
    }
    // a copy: the rest must not keep this whole chunk alive while it waits for its newline
    this.pending.set(key, Buffer.from(buffered.subarray(cut + 1)))
    const head = Buffer.from(`${prefix}: `)
    const parts: Buffer[] = []
    for (let start = 0; start <= cut;) {
      const end = buffered.indexOf(NEWLINE, start) + 1
      parts.push(head, buffered.subarray(start, end))
      start = end
    }
    return Buffer.concat(parts)
  }

  /** what is left of `key`'s last line, prefixed and ended with a newline; empty when nothing is */
  flush (key: string, prefix: string): Buffer {
    const rest = this.pending.get(key)
    this.pending.delete(key)
    return rest == null || rest.byteLength === 0 ? EMPTY : Buffer.concat([Buffer.from(`${prefix}: `), rest, Buffer.from('\n')])
  }
}
