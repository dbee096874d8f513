/**
 * Who a pid is: Linux reuses pids, so a pid alone cannot tell a restarted daemon whether the task
 * it launched still runs. The start time in /proc/<pid>/stat (clock ticks since boot) can: a pid
 * with the same start time is the same process.
 */
import { readdir, readFile } from 'node:fs/promises'

export interface ProcessIdentity {
  pid: number
  /** field 22 of /proc/<pid>/stat, kept as text: it is only ever compared */
  startTime: string
  /** process group id (field 5) */
  pgid: number
  /** 'R', 'S', 'Z'… (field 3); a zombie has ended */
  state: string
}

export async function processIdentity (pid: number, procRoot = '/proc'): Promise<ProcessIdentity | undefined> {
  let text: string
  try {
    text = await readFile(`${procRoot}/${pid}/stat`, 'utf8')
  } catch {
    return undefined
  }
  return parseStat(pid, text)
}

/** Pure: the fields after the command name, which may itself hold spaces and parentheses. */
export function parseStat (pid: number, text: string): ProcessIdentity | undefined {
  const close = text.lastIndexOf(')')
  if (close < 0) return undefined
  const fields = text.slice(close + 2).trim().split(' ')
  // fields[0] is field 3 of proc(5)
  const state = fields[0]
  const pgid = Number(fields[2])
  const startTime = fields[19]
  if (state == null || startTime == null || !Number.isInteger(pgid)) return undefined
  return { pid, startTime, pgid, state }
}

/** Is `pid` still the process that had `startTime`, and not yet ended? */
export async function isSameProcess (pid: number, startTime: string, procRoot = '/proc'): Promise<boolean> {
  const id = await processIdentity(pid, procRoot)
  return id != null && id.startTime === startTime && id.state !== 'Z' && id.state !== 'X'
}

/**
 * Process group leaders whose environment holds every `KEY=value` of `env`. Finds a task launched
 * just before a crash, before its pid reached the journal (the runner exports MESH_TASK_ID and
 * MESH_ATTEMPT to every task).
 */
export async function findGroupLeadersByEnv (env: Record<string, string>, procRoot = '/proc'): Promise<ProcessIdentity[]> {
  const wanted = Object.entries(env).map(([k, v]) => `${k}=${v}`)
  const found: ProcessIdentity[] = []
  for (const name of await readdir(procRoot).catch(() => [])) {
    if (!/^\d+$/.test(name)) continue
    const pid = Number(name)
    const environ = await readFile(`${procRoot}/${pid}/environ`, 'utf8').catch(() => '')
    if (environ === '') continue
    const vars = new Set(environ.split('\0'))
    if (!wanted.every(w => vars.has(w))) continue
    const id = await processIdentity(pid, procRoot)
    if (id != null && id.pgid === pid && id.state !== 'Z') found.push(id)
  }
  return found
}
