/**
 * Following a daemon's pino log (JSON lines on its stderr, in a file) while a benchmark runs: read
 * what was appended since the last look, and find the first line after a moment that matches.
 * Times come from each line's own `time` (ISO, ms): what the daemon saw, not when we polled.
 */
import { closeSync, existsSync, fstatSync, openSync, readSync } from 'node:fs'
import { setTimeout as sleep } from 'node:timers/promises'

export interface LogLine {
  /** epoch ms of the line's `time` field */
  at: number
  msg: string
  component?: string
  level: number
  [field: string]: unknown
}

/** Reads a growing log file incrementally; every line read is kept (a benchmark's logs are small). */
export class LogWatch {
  readonly file: string
  readonly lines: LogLine[] = []
  private offset = 0
  private partial = ''

  constructor (file: string) {
    this.file = file
  }

  /** reads whatever was appended; returns the new lines */
  poll (): LogLine[] {
    if (!existsSync(this.file)) return []
    const fd = openSync(this.file, 'r')
    try {
      const size = fstatSync(fd).size
      if (size < this.offset) { this.offset = 0; this.partial = '' }
      if (size === this.offset) return []
      const buf = Buffer.alloc(size - this.offset)
      const n = readSync(fd, buf, 0, buf.length, this.offset)
      this.offset += n
      const text = this.partial + buf.subarray(0, n).toString('utf8')
      const parts = text.split('\n')
      this.partial = parts.pop() ?? ''
      const out: LogLine[] = []
      for (const p of parts) {
        if (p.trim() === '') continue
        try {
          const rec = JSON.parse(p) as Record<string, unknown>
          const at = typeof rec.time === 'string' ? Date.parse(rec.time) : typeof rec.time === 'number' ? rec.time : NaN
          out.push({ ...rec, at, msg: typeof rec.msg === 'string' ? rec.msg : '', level: Number(rec.level ?? 0) })
        } catch { /* not JSON (e.g. the inspector's banner): skip */ }
      }
      this.lines.push(...out)
      return out
    } finally {
      closeSync(fd)
    }
  }

  /** the first line at or after `since` (epoch ms) for which `match` holds, among those read so far */
  find (since: number, match: (l: LogLine) => boolean): LogLine | undefined {
    return this.lines.find(l => l.at >= since && match(l))
  }

  /** polls every `everyMs` until a matching line at or after `since` appears; undefined on timeout */
  async waitFor (since: number, match: (l: LogLine) => boolean, timeoutMs: number, everyMs = 20): Promise<LogLine | undefined> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      this.poll()
      const hit = this.find(since, match)
      if (hit != null || Date.now() > deadline) return hit
      await sleep(everyMs)
    }
  }
}
