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

/** When each daemon of a mass start learnt of each other one, read from their logs. */
export interface Discovery {
  /** per ordered pair (observer, peer): ms from the later of the two daemons' start to the observer's first `peer online` line about the peer */
  pairMs: number[]
  /** pairs with no such line, "observer>peer" */
  missing: string[]
  /** ms from the last daemon's start to the last pair's first contact */
  lastMs: number
}

interface ContactLine { time?: string, msg?: string, component?: string, name?: string }

/**
 * Reads each host's log for its `mesh daemon started` line and its `peer online` lines (which name
 * the peer by its advert's name, the host name in the labs). One clock: every daemon runs on this
 * machine. Hosts whose log lacks the start line are left out.
 */
export function discovery (hosts: Array<{ name: string, file: string }>): Discovery {
  const started = new Map<string, number>()
  const first = new Map<string, Map<string, number>>()
  for (const h of hosts) {
    if (!existsSync(h.file)) continue
    const seen = new Map<string, number>()
    for (const line of readFileSync(h.file, 'utf8').split('\n')) {
      if (!line.includes('"mesh daemon started"') && !line.includes('"peer online"')) continue
      let rec: ContactLine
      try { rec = JSON.parse(line) as ContactLine } catch { continue }
      const t = Date.parse(rec.time ?? '')
      if (Number.isNaN(t)) continue
      if (rec.msg === 'mesh daemon started' && !started.has(h.name)) started.set(h.name, t)
      if (rec.msg === 'peer online' && rec.component === 'peers' && rec.name != null && !seen.has(rec.name)) seen.set(rec.name, t)
    }
    first.set(h.name, seen)
  }
  const pairMs: number[] = []
  const missing: string[] = []
  let last = -Infinity
  for (const [o, to] of started) {
    for (const [p, tp] of started) {
      if (o === p) continue
      const t = first.get(o)?.get(p)
      if (t == null) { missing.push(`${o}>${p}`); continue }
      pairMs.push(t - Math.max(to, tp))
      last = Math.max(last, t)
    }
  }
  return { pairMs, missing, lastMs: last - Math.max(...started.values()) }
}
