import { CONTAINER_WORKDIR, NAME_PREFIX } from '../constants.js'
import { checkNumaNode, taskArgv } from '../command.js'
import { LaunchError } from '../errors.js'
import type { LaunchSpec } from '../index.js'
import { containerEnvArgs } from './env.js'

export type ContainerRuntime = 'podman' | 'docker'

/** `mesh-<taskId>-<attempt>` with characters a container name cannot hold replaced by `_`. */
export function containerName (taskId: string, attempt: number): string {
  return `${NAME_PREFIX}-${taskId.replace(/[^A-Za-z0-9_.-]/g, '_')}-${attempt}`
}

export interface ContainerArgvOptions {
  runtime: ContainerRuntime
  /** cpulist (`0-3,8`) of each NUMA node, to pin a bound task with --cpuset-cpus */
  nodeCpus?: Readonly<Record<number, string>>
}

/**
 * `<runtime> run --rm --name mesh-<id>-<n> [--cpus N] [--cpuset-cpus L --cpuset-mems N] [--memory Mm]
 * -e NAME... -v <cwd>:/work -w /work <image> argv...`. Pure.
 *
 * Variables go as `-e NAME` (see env.ts). A chosen NUMA node is bound by the engine (cpuset),
 * whether or not numactl is on the host.
 */
export function buildContainerArgv (spec: Pick<LaunchSpec, 'taskId' | 'attempt' | 'command' | 'shell' | 'env' | 'cwd' | 'numaNode' | 'cores' | 'memoryMB' | 'image'>, opts: ContainerArgvOptions): string[] {
  const image = spec.image?.trim() ?? ''
  if (image === '') throw new LaunchError('the container executor needs an image (task field "image")', false)
  if (image.startsWith('-')) throw new LaunchError(`invalid image name ${JSON.stringify(image)}`, false)
  if (spec.cwd.includes(':')) throw new LaunchError(`work dir ${spec.cwd} cannot be mounted: it contains ':'`, false)

  const limits: string[] = []
  if (spec.cores > 0) limits.push('--cpus', String(spec.cores))
  if (spec.numaNode !== null) {
    checkNumaNode(spec.numaNode)
    const cpus = opts.nodeCpus?.[spec.numaNode]
    if (cpus !== undefined && cpus !== '') limits.push('--cpuset-cpus', cpus)
    limits.push('--cpuset-mems', String(spec.numaNode))
  }
  if (spec.memoryMB > 0) limits.push('--memory', `${Math.ceil(spec.memoryMB)}m`)

  return [
    opts.runtime, 'run', '--rm',
    '--name', containerName(spec.taskId, spec.attempt),
    '--label', `mesh.task=${spec.taskId}`,
    '--label', `mesh.attempt=${spec.attempt}`,
    ...limits,
    ...containerEnvArgs(spec),
    '-v', `${spec.cwd}:${CONTAINER_WORKDIR}`,
    '-w', CONTAINER_WORKDIR,
    image,
    ...taskArgv(spec)
  ]
}
