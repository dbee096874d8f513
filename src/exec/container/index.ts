/**
 * The `container` executor: each task in a podman or docker container from the task's image,
 * its work dir mounted at /work, limits and NUMA binding given to the engine. The runtime CLI
 * runs attached under the process executor's mechanics (logs, timeout, kills); every signal the
 * supervisor sends is also sent to the container with `<runtime> kill`, because a killed CLI
 * does not take its container with it.
 */
import { DEFAULT_KILL_GRACE_MS, PROBE_TIMEOUT_MS } from '../constants.js'
import { LaunchError } from '../errors.js'
import type { AdoptRequest, Availability, Executor, Handle, LaunchSpec } from '../index.js'
import { silentLogger } from '../../node/logger.js'
import type { Logger } from '../../node/logger.js'
import { hostProbe } from '../probe.js'
import type { HostProbe } from '../probe.js'
import { startProcess } from '../process/supervisor.js'
import { TaskSet } from '../tracker.js'
import { buildContainerArgv, containerName } from './argv.js'
import type { ContainerRuntime } from './argv.js'
import { containerAvailability } from './available.js'
import type { ContainerAvailability } from './available.js'
import { containerCliEnv } from './env.js'
import { adoptProcess } from '../process/adopted.js'

export { buildContainerArgv, containerName } from './argv.js'
export type { ContainerRuntime } from './argv.js'
export { containerAvailability } from './available.js'
export { containerCliEnv, containerEnvArgs } from './env.js'

export interface ContainerExecutorInit {
  daemonEnv?: NodeJS.ProcessEnv
  killGraceMs?: number
  log?: Logger
  probe?: HostProbe
  probeTimeoutMs?: number
  /** only this runtime; default: podman, then docker */
  runtime?: ContainerRuntime
  /** cpulist of each NUMA node (from Capabilities), for --cpuset-cpus */
  nodeCpus?: Readonly<Record<number, string>>
}

export class ContainerExecutor implements Executor {
  readonly name = 'container'
  readonly #daemonEnv: NodeJS.ProcessEnv
  readonly #killGraceMs: number
  readonly #log: Logger
  readonly #probe: HostProbe
  readonly #probeTimeoutMs: number
  readonly #runtimes: readonly ContainerRuntime[] | undefined
  readonly #nodeCpus: Readonly<Record<number, string>> | undefined
  readonly #tasks = new TaskSet()
  #availability: Promise<ContainerAvailability> | undefined

  constructor (init: ContainerExecutorInit = {}) {
    this.#daemonEnv = init.daemonEnv ?? process.env
    this.#killGraceMs = init.killGraceMs ?? DEFAULT_KILL_GRACE_MS
    this.#log = (init.log ?? silentLogger()).child({ component: 'exec', executor: this.name })
    this.#probe = init.probe ?? hostProbe(this.#daemonEnv.PATH)
    this.#probeTimeoutMs = init.probeTimeoutMs ?? PROBE_TIMEOUT_MS
    this.#runtimes = init.runtime === undefined ? undefined : [init.runtime]
    this.#nodeCpus = init.nodeCpus
  }

  /** the runtime `available()` settled on, once it has */
  async runtime (): Promise<ContainerRuntime | undefined> {
    const availability = await this.#availability
    return availability?.ok === true ? availability.runtime : undefined
  }

  async available (): Promise<Availability> {
    this.#availability = containerAvailability(this.#probe, { runtimes: this.#runtimes, timeoutMs: this.#probeTimeoutMs, env: this.#daemonEnv })
    const availability = await this.#availability
    return availability.ok ? { ok: true } : availability
  }

  async launch (spec: LaunchSpec): Promise<Handle> {
    this.#tasks.checkOpen()
    if (this.#availability === undefined) await this.available()
    const availability = await this.#availability
    if (availability === undefined || !availability.ok) {
      throw new LaunchError(`container executor is unavailable: ${availability?.reason ?? 'not probed'}`, false)
    }
    const { runtime } = availability
    const name = containerName(spec.taskId, spec.attempt)
    const log = this.#log.child({ task: spec.taskId, attempt: spec.attempt })
    const handle = await startProcess({
      argv: buildContainerArgv(spec, { runtime, nodeCpus: this.#nodeCpus }),
      env: containerCliEnv(spec, this.#daemonEnv),
      cwd: spec.cwd,
      stdout: spec.stdout,
      stderr: spec.stderr,
      ...(spec.exitFile != null ? { exitFile: spec.exitFile } : {}),
      timeoutMs: spec.timeoutMs,
      killGraceMs: spec.killGraceMs ?? this.#killGraceMs,
      programs: [runtime],
      onSignal: (sig) => { this.#forward(runtime, name, sig, log) },
      log
    })
    return this.#tasks.add(handle)
  }

  async adopt (spec: AdoptRequest): Promise<Handle | undefined> {
    this.#tasks.checkOpen()
    const handle = await adoptProcess({ ...spec, killGraceMs: spec.killGraceMs ?? this.#killGraceMs, log: this.#log.child({ task: spec.taskId, attempt: spec.attempt }) })
    return handle == null ? undefined : this.#tasks.add(handle)
  }

  async shutdown (): Promise<void> {
    await this.#tasks.shutdown()
  }

  #forward (runtime: ContainerRuntime, name: string, sig: NodeJS.Signals, log: Logger): void {
    void this.#probe.run(runtime, ['kill', '--signal', sig, name], this.#probeTimeoutMs, this.#daemonEnv).then((result) => {
      // "no such container" once it is gone is expected; anything else is worth a line
      if (result.code !== 0) log.debug({ container: name, signal: sig, code: result.code, error: result.error }, 'container kill did not succeed')
    })
  }
}

export function containerExecutor (init: ContainerExecutorInit = {}): ContainerExecutor {
  return new ContainerExecutor(init)
}
