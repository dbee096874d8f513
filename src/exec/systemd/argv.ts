import { NAME_PREFIX, SYSTEMD_RUN } from '../constants.js'
import type { LaunchSpec } from '../index.js'
import { buildArgv } from '../process/argv.js'

const UNIT_SAFE = /[A-Za-z0-9:_.-]/

/** `mesh-<taskId>-<attempt>`, other characters escaped as systemd-escape(1) does (`\x2f`). */
export function systemdUnitName (taskId: string, attempt: number): string {
  const escaped = [...Buffer.from(taskId, 'utf8')].map((byte) => {
    const ch = String.fromCharCode(byte)
    return byte < 0x80 && UNIT_SAFE.test(ch) ? ch : `\\x${byte.toString(16).padStart(2, '0')}`
  }).join('')
  return `${NAME_PREFIX}-${escaped}-${attempt}`
}

export interface SystemdArgvOptions {
  /** `systemd-run --user`: the caller's own systemd instance (a daemon not running as root) */
  user: boolean
}

/**
 * `systemd-run --scope --quiet --collect -p MemoryMax=…M -p CPUQuota=…% --unit mesh-<id>-<n> -- argv`:
 * a transient scope around the process executor's argv (numactl binding included). A scope runs
 * the command in place, so the spawned pid is the task's and signals reach it directly.
 * A limit of 0 is left out. Pure.
 */
export function buildSystemdArgv (spec: Pick<LaunchSpec, 'taskId' | 'attempt' | 'command' | 'shell' | 'numaNode' | 'numactl' | 'cores' | 'memoryMB'>, opts: SystemdArgvOptions = { user: false }): string[] {
  const props: string[] = []
  if (spec.memoryMB > 0) props.push('-p', `MemoryMax=${Math.ceil(spec.memoryMB)}M`)
  if (spec.cores > 0) props.push('-p', `CPUQuota=${Math.ceil(spec.cores * 100)}%`)
  return [
    SYSTEMD_RUN,
    ...(opts.user ? ['--user'] : []),
    '--scope', '--quiet', '--collect',
    ...props,
    '--unit', systemdUnitName(spec.taskId, spec.attempt),
    '--',
    ...buildArgv(spec)
  ]
}
