/**
 * Linux /proc readers for resource measurements, and the machine facts a benchmark report needs.
 */
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { availableParallelism, cpus, totalmem } from 'node:os'

/** utime + stime of a process, in clock ticks (fields 14 and 15 of /proc/PID/stat) */
export function cpuTicks (pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  // the command name (field 2) may hold spaces and parentheses: split after the last ')'
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  // fields[0] is field 3 (state), so utime (14) is fields[11] and stime (15) fields[12]
  return Number(fields[11]) + Number(fields[12])
}

/**
 * cutime + cstime: CPU of the process's children it has reaped, and of theirs (fields 16 and 17 of
 * /proc/PID/stat), in clock ticks — for a daemon, the tasks it ran and their wrappers
 */
export function childCpuTicks (pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return Number(fields[13]) + Number(fields[14])
}

/** resident set size in KiB (VmRSS of /proc/PID/status) */
export function rssKiB (pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status)
  if (m == null) throw new Error(`no VmRSS for pid ${pid}`)
  return Number(m[1])
}

/** USER_HZ: the unit of /proc/PID/stat times (100 on every Linux we run on) */
export function clockTicksPerSecond (): number {
  try {
    const n = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim())
    return Number.isFinite(n) && n > 0 ? n : 100
  } catch {
    return 100
  }
}

/** the process's command line, '' when it is gone */
export function cmdline (pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ')
  } catch {
    return ''
  }
}

export interface MachineFacts {
  nproc: number
  cpuModel: string
  memTotalGiB: number
  node: string
  kernel: string
  date: string
  commit: string
}

export function machineFacts (repoRoot: string): MachineFacts {
  const sh = (cmd: string, args: string[]): string => {
    try { return execFileSync(cmd, args, { encoding: 'utf8', cwd: repoRoot, stdio: ['ignore', 'pipe', 'ignore'] }).trim() } catch { return '?' }
  }
  const dirty = sh('git', ['status', '--porcelain', '--untracked-files=no']) !== ''
  return {
    nproc: availableParallelism(),
    cpuModel: cpus()[0]?.model.trim() ?? '?',
    memTotalGiB: totalmem() / 2 ** 30,
    node: process.version,
    kernel: sh('uname', ['-r']),
    date: new Date().toISOString(),
    commit: sh('git', ['rev-parse', '--short', 'HEAD']) + (dirty ? ' (+ uncommitted changes)' : '')
  }
}
