/**
 * Whether containers can run here: a runtime binary on PATH whose engine answers `<runtime> info`
 * within the probe timeout (a docker CLI without a daemon is not enough). Podman is tried first:
 * it needs no daemon.
 */
import { CONTAINER_RUNTIMES } from '../constants.js'
import { firstLine } from '../probe.js'
import type { HostProbe } from '../probe.js'
import type { ContainerRuntime } from './argv.js'

export type ContainerAvailability = { ok: true, runtime: ContainerRuntime } | { ok: false, reason: string }

export async function containerAvailability (
  probe: HostProbe,
  opts: { runtimes?: readonly ContainerRuntime[], timeoutMs: number, env?: NodeJS.ProcessEnv }
): Promise<ContainerAvailability> {
  const runtimes = opts.runtimes ?? CONTAINER_RUNTIMES
  const reasons: string[] = []
  for (const runtime of runtimes) {
    if (await probe.which(runtime) === undefined) continue
    const result = await probe.run(runtime, ['info'], opts.timeoutMs, opts.env)
    if (result.code === 0) return { ok: true, runtime }
    const why = result.error ?? `exit code ${result.code ?? 'none'}`
    const detail = firstLine(result)
    reasons.push(`${runtime} is installed but its engine does not answer \`${runtime} info\` (${why}${detail !== '' ? `: ${detail}` : ''})`)
  }
  if (reasons.length === 0) return { ok: false, reason: `no container runtime on PATH (looked for ${runtimes.join(', ')})` }
  return { ok: false, reason: reasons.join('; ') }
}
