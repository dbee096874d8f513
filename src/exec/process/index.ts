/**
 * The `process` executor: the task's argv as a plain child process of the daemon, in its own
 * process group, optionally behind numactl. No isolation beyond that; the reference executor the
 * systemd and container executors build on.
 */
import { DEFAULT_KILL_GRACE_MS } from '../constants.js'
import { buildTaskEnv } from '../env.js'
import type { AdoptRequest, Availability, Executor, Handle, LaunchSpec } from '../index.js'
import { silentLogger } from '../../node/logger.js'
import type { Logger } from '../../node/logger.js'
import { TaskSet } from '../tracker.js'
import { buildArgv, programsOf } from './argv.js'
import { startProcess } from './supervisor.js'
import { adoptProcess } from './adopted.js'

export { buildArgv } from './argv.js'

export interface ProcessExecutorInit {
  /** the daemon's environment, where PATH, HOME, LANG, USER come from; default process.env */
  daemonEnv?: NodeJS.ProcessEnv
  /** SIGTERM → SIGKILL grace when the spec gives none; default 5 s */
  killGraceMs?: number
  log?: Logger
}

export class ProcessExecutor implements Executor {
  readonly name = 'process'
  readonly #daemonEnv: NodeJS.ProcessEnv
  readonly #killGraceMs: number
  readonly #log: Logger
  readonly #tasks = new TaskSet()

  constructor (init: ProcessExecutorInit = {}) {
    this.#daemonEnv = init.daemonEnv ?? process.env
    this.#killGraceMs = init.killGraceMs ?? DEFAULT_KILL_GRACE_MS
    this.#log = (init.log ?? silentLogger()).child({ component: 'exec', executor: this.name })
  }

  async available (): Promise<Availability> {
    return { ok: true }
  }

  async launch (spec: LaunchSpec): Promise<Handle> {
    this.#tasks.checkOpen()
    const handle = await startProcess({
      argv: buildArgv(spec),
      env: buildTaskEnv(spec, this.#daemonEnv),
      cwd: spec.cwd,
      stdout: spec.stdout,
      stderr: spec.stderr,
      ...(spec.exitFile != null ? { exitFile: spec.exitFile } : {}),
      timeoutMs: spec.timeoutMs,
      killGraceMs: spec.killGraceMs ?? this.#killGraceMs,
      programs: programsOf(spec),
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

export function processExecutor (init: ProcessExecutorInit = {}): ProcessExecutor {
  return new ProcessExecutor(init)
}
