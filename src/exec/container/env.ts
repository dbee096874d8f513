/**
 * Environment for a container task. Values reach the container through the runtime CLI's own
 * environment (`-e NAME` without a value), so they never show in `ps`. Names the CLI itself
 * depends on (PATH, HOME, DOCKER_HOST...) keep the daemon's values for the CLI and are passed
 * to the container explicitly as `-e NAME=value` when the task sets them.
 */
import { CONTAINER_CLI_ENV_KEYS, DEFAULT_PATH, SAFE_ENV_KEYS } from '../constants.js'
import { buildTaskEnv, pickEnv, taskEnvNames } from '../env.js'
import type { LaunchSpec } from '../index.js'

const CLI_OWN = [...SAFE_ENV_KEYS, ...CONTAINER_CLI_ENV_KEYS]
const CLI_OWN_SET = new Set(CLI_OWN)

/** The `-e` arguments: every task variable and MESH_*. Pure. */
export function containerEnvArgs (spec: Pick<LaunchSpec, 'env'>): string[] {
  return taskEnvNames(spec).flatMap((name) => {
    const value = spec.env[name]
    return CLI_OWN_SET.has(name) && value !== undefined ? ['-e', `${name}=${value}`] : ['-e', name]
  })
}

/** The runtime CLI's environment: the task's variables, with the daemon's for what the CLI needs. */
export function containerCliEnv (spec: Pick<LaunchSpec, 'env' | 'taskId' | 'attempt' | 'numaNode'>, daemonEnv: NodeJS.ProcessEnv): Record<string, string> {
  return { ...buildTaskEnv(spec, daemonEnv), PATH: DEFAULT_PATH, ...pickEnv(daemonEnv, CLI_OWN) }
}
