/**
 * The lab's own record, DIR/lab.json: which daemons it started (pid, home, peer id). Written after
 * every start, so `down` finds every daemon even when `up` failed or was interrupted half way.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { cmdline } from './procfs.js'

export const STATE_FILE = 'lab.json'

export interface LabNode {
  name: string
  home: string
  pid: number
  id: string
  addr: string
  tags: string[]
}

export interface LabState {
  version: 1
  createdAt: string
  swarmKey: string
  nodes: LabNode[]
}

export function statePath (dir: string): string {
  return join(dir, STATE_FILE)
}

export function readState (dir: string): LabState | undefined {
  const path = statePath(dir)
  if (!existsSync(path)) return undefined
  return JSON.parse(readFileSync(path, 'utf8')) as LabState
}

export async function writeState (dir: string, state: LabState): Promise<void> {
  await writeFile(statePath(dir), JSON.stringify(state, null, 2) + '\n', { mode: 0o600 })
}

/** node1, node2, … folders under DIR, in order */
export function nodeHomes (dir: string): string[] {
  if (!existsSync(dir)) return []
  return readdirSync(dir, { withFileTypes: true })
    .filter(e => e.isDirectory() && /^node\d+$/.test(e.name))
    .map(e => e.name)
    .sort((a, b) => Number(a.slice(4)) - Number(b.slice(4)))
    .map(n => join(dir, n))
}

/** true when `pid` is a `mesh start` daemon (not a recycled pid of something else) */
export function isMeshDaemon (pid: number, home?: string): boolean {
  const cmd = cmdline(pid)
  if (!cmd.includes('main.js start')) return false
  return home == null || cmd.includes(`--home ${home} `)
}

/**
 * Pids of `mesh start` processes whose command line names one of `homes`: finds a daemon whose
 * `--detach` parent was interrupted before it could report the pid.
 */
export function daemonPidsFor (homes: string[]): number[] {
  if (homes.length === 0) return []
  const pids: number[] = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    const pid = Number(entry)
    if (pid === process.pid) continue
    const cmd = cmdline(pid)
    if (!cmd.includes('main.js start')) continue
    // cmdline() ends with a space (argv is NUL-terminated), so node1 never matches node10
    if (homes.some(h => cmd.includes(`--home ${h} `))) pids.push(pid)
  }
  return pids
}
