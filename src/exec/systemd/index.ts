/**
 * The `systemd` executor: each task in a transient scope unit (`mesh-<taskId>-<attempt>`) with
 * MemoryMax and CPUQuota from its resources, so the kernel enforces the limits and `systemctl`
 * shows what runs. Spawning, logs, timeouts and kills are the process executor's mechanics.
 */
import { DEFAULT_KILL_GRACE_MS, PROBE_TIMEOUT_MS, SYSTEMD_RUN, SYSTEMD_USER_ENV_KEYS } from '../constants.js'
import { buildTaskEnv, pickEnv } from '../env.js'
import { LaunchError } from '../errors.js'
import type { AdoptRequest, Availability, Executor, Handle, LaunchSpec } from '../index.js'
import { silentLogger } from '../../node/logger.js'
import type { Logger } from '../../node/logger.js'
import { hostProbe } from '../probe.js'
import type { HostProbe } from '../probe.js'
import { programsOf } from '../process/argv.js'
import { startProcess } from '../process/supervisor.js'
import { TaskSet } from '../tracker.js'
import { buildSystemdArgv } from './argv.js'
import { systemdAvailability } from './available.js'
import { adoptProcess } from '../process/adopted.js'

export { buildSystemdArgv, systemdUnitName } from './argv.js'
export { systemdAvailability } from './available.js'

export interface SystemdExecutorInit {
  daemonEnv?: NodeJS.ProcessEnv
  killGraceMs?: number
  log?: Logger
  /** host facts for `available()`; the real host by default */
  probe?: HostProbe
  probeTimeoutMs?: number
  /** use the caller's user manager (`--user`); default: when the daemon is not root */
  userScope?: boolean
}

export class SystemdExecutor implements Executor {
  readonly name = 'systemd'
  readonly #daemonEnv: NodeJS.ProcessEnv
  readonly #killGraceMs: number
  readonly #log: Logger
  readonly #probe: HostProbe
  readonly #probeTimeoutMs: number
  readonly #user: boolean
  readonly #tasks = new TaskSet()
  #availability: Promise<Availability> | undefined

  constructor (init: SystemdExecutorInit = {}) {
    this.#daemonEnv = init.daemonEnv ?? process.env
    this.#killGraceMs = init.killGraceMs ?? DEFAULT_KILL_GRACE_MS
    this.#log = (init.log ?? silentLogger()).child({ component: 'exec', executor: this.name })
    this.#probe = init.probe ?? hostProbe(this.#daemonEnv.PATH)
    this.#probeTimeoutMs = init.probeTimeoutMs ?? PROBE_TIMEOUT_MS
    this.#user = init.userScope ?? process.getuid?.() !== 0
  }

  async available (): Promise<Availability> {
    this.#availability = systemdAvailability(this.#probe, { user: this.#user, timeoutMs: this.#probeTimeoutMs })
    return await this.#availability
  }

  async launch (spec: LaunchSpec): Promise<Handle> {
    this.#tasks.checkOpen()
    const availability = await (this.#availability ?? this.available())
    if (!availability.ok) throw new LaunchError(`systemd executor is unavailable: ${availability.reason}`, false)
    const handle = await startProcess({
      argv: buildSystemdArgv(spec, { user: this.#user }),
      // the user manager is found through these; they reach the task too (same user, same session)
      env: { ...(this.#user ? pickEnv(this.#daemonEnv, SYSTEMD_USER_ENV_KEYS) : {}), ...buildTaskEnv(spec, this.#daemonEnv) },
      cwd: spec.cwd,
      stdout: spec.stdout,
      stderr: spec.stderr,
      ...(spec.exitFile != null ? { exitFile: spec.exitFile } : {}),
      timeoutMs: spec.timeoutMs,
      killGraceMs: spec.killGraceMs ?? this.#killGraceMs,
      programs: programsOf(spec, SYSTEMD_RUN),
      log: this.#log.child({ task: spec.taskId, attempt: spec.attempt })
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
}

export function systemdExecutor (init: SystemdExecutorInit = {}): SystemdExecutor {
  return new SystemdExecutor(init)
}
