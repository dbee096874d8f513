/**
 * Reading the daemons' pino logs (JSON lines) after a benchmark: warn-or-worse lines counted by
 * component and message, so a report can say what went wrong without anyone opening the files.
 */
import { existsSync, readFileSync } from 'node:fs'

interface LogRecord {
  level?: number
  msg?: string
  component?: string
  reason?: string
  err?: { message?: string }
}

/** "warn push: push from peer failed (reason…)" → count, over every file given */
export function warnings (files: string[]): Map<string, number> {
  const counts = new Map<string, number>()
  for (const file of files) {
    if (!existsSync(file)) continue
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      if (line.trim() === '') continue
      let rec: LogRecord
      try { rec = JSON.parse(line) as LogRecord } catch { rec = { level: 50, msg: line.slice(0, 120) } }
      if ((rec.level ?? 0) < 40) continue
      const detail = rec.reason ?? rec.err?.message
      const key = `${rec.level === 40 ? 'warn' : 'error'} ${rec.component ?? '?'}: ${rec.msg ?? ''}${detail != null ? ` (${detail.slice(0, 100)})` : ''}`
      counts.set(key, (counts.get(key) ?? 0) + 1)
    }
  }
  return counts
}
