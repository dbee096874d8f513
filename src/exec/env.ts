/**
 * The environment of a task: a minimal base taken from the daemon, the task's own variables, then
 * the MESH_* variables the runner promises (SPEC.md), which the task file cannot override. Pure.
 */
import { DEFAULT_PATH, SAFE_ENV_KEYS } from './constants.js'
import { LaunchError } from './errors.js'
import type { LaunchSpec } from './index.js'

const NAME = /^[^=\0]+$/

export function buildTaskEnv (
  spec: Pick<LaunchSpec, 'env' | 'taskId' | 'attempt' | 'numaNode'>,
  daemonEnv: NodeJS.ProcessEnv
): Record<string, string> {
  const env: Record<string, string> = { PATH: DEFAULT_PATH, ...pickEnv(daemonEnv, SAFE_ENV_KEYS) }
  for (const [key, value] of Object.entries(spec.env)) {
    if (!NAME.test(key)) throw new LaunchError(`invalid environment variable name ${JSON.stringify(key)}`, false)
    if (value.includes('\0')) throw new LaunchError(`environment variable ${key} contains a NUL byte`, false)
    env[key] = value
  }
  env.MESH_TASK_ID = spec.taskId
  env.MESH_ATTEMPT = String(spec.attempt)
  env.MESH_NUMA_NODE = spec.numaNode === null ? '' : String(spec.numaNode)
  return env
}

/** The names of `env` that came from the task (its own and MESH_*), not the daemon's base. */
export function taskEnvNames (spec: Pick<LaunchSpec, 'env'>): string[] {
  return [...new Set([...Object.keys(spec.env), 'MESH_TASK_ID', 'MESH_ATTEMPT', 'MESH_NUMA_NODE'])]
}

/** The variables of `from` named in `keys` that are set. */
export function pickEnv (from: NodeJS.ProcessEnv, keys: readonly string[]): Record<string, string> {
  const env: Record<string, string> = {}
  for (const key of keys) {
    const value = from[key]
    if (value !== undefined) env[key] = value
  }
  return env
}
