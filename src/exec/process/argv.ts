import { bindsWithNumactl, numactlPrefix, taskArgv } from '../command.js'
import type { LaunchSpec } from '../index.js'

/**
 * The argv the process executor spawns: the task's argv (or `/bin/sh -c command`), behind
 * `numactl --cpunodebind=N --membind=N --` when a NUMA node was chosen and numactl is there.
 * Pure; throws a non-retryable LaunchError for a command that cannot run anywhere.
 */
export function buildArgv (spec: Pick<LaunchSpec, 'command' | 'shell' | 'numaNode' | 'numactl'>): string[] {
  const argv = taskArgv(spec)
  return bindsWithNumactl(spec) ? [...numactlPrefix(spec.numaNode), ...argv] : argv
}

/** Programs execve will look up for `argv`: the wrapper (if any) and the task's own. */
export function programsOf (spec: Pick<LaunchSpec, 'command' | 'shell' | 'numaNode' | 'numactl'>, wrapper?: string): string[] {
  const programs = [wrapper, buildArgv(spec)[0], taskArgv(spec)[0]]
  return [...new Set(programs.filter((p): p is string => p !== undefined))]
}
