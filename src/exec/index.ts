/**
 * Executors: how a runner turns a task into something running on this host, and back into an
 * ExitStatus. Every executor implements the same small interface (launch → Handle → wait / signal /
 * cancel, plus shutdown), so the runner never knows which one it drives; `mock` implements it
 * without processes for tests of the layers above.
 *
 *                       LaunchSpec (argv, env, cwd, NUMA node, limits, log files)
 *                               │
 *            createExecutor(name) / selectExecutor([...preferences])
 *       ┌──────────────┬────────┴──────┬──────────────────┬─────────────────┐
 *    process        systemd         container            mock
 *  [numactl --]   systemd-run      podman|docker run    `mock exit=3 sleep=200`
 *   argv            --scope …         --rm …             (timers, no processes)
 *       └──────────────┴───────┬───────┘
 *                 process/supervisor.ts: spawn detached (own process group), stdio → log files,
 *                 timeout → SIGTERM group → grace → SIGKILL group
 *                               │
 *                       Handle.wait() → ExitStatus { state, exitCode, signal, times, error }
 *
 * Rules every executor keeps:
 * - `launch()` either throws a LaunchError (nothing started; `retryable` says if trying again may
 *   help) or returns a Handle whose `wait()` never rejects. A missing command is a `failed` status
 *   with exit code 127 and `error: "command not found: foo"`.
 * - The task is a process group: signals, timeouts and cancels reach every process of it, and
 *   whatever is left of the group when its first process exits is killed.
 * - `timed_out` reports exit code 124 and `cancelled` 130 (SPEC.md), whatever the signal was.
 * - The task sees PATH, HOME, LANG, USER of the daemon, its own env, and MESH_TASK_ID,
 *   MESH_ATTEMPT, MESH_NUMA_NODE; nothing else of the daemon's environment.
 */
export interface LaunchSpec {
  taskId: string
  attempt: number
  /** argv, run without a shell; a string needs `shell: true` and runs as `/bin/sh -c command` */
  command: string[] | string
  shell: boolean
  env: Record<string, string>
  /** work dir, already created by the caller */
  cwd: string
  /** bind with `numactl --cpunodebind=N --membind=N` when not null and `numactl` is true */
  numaNode: number | null
  /** the caller found numactl on this host (Capabilities.numactl) */
  numactl: boolean
  /** 0 means no limit (systemd CPUQuota, container --cpus) */
  cores: number
  /** 0 means no limit (systemd MemoryMax, container --memory) */
  memoryMB: number
  /** 0 (or Infinity) means no timeout */
  timeoutMs: number
  /** between SIGTERM and SIGKILL; default DEFAULT_KILL_GRACE_MS (5 s) */
  killGraceMs?: number
  /** files the task's stdout / stderr are appended to (full logs) */
  stdout: string
  stderr: string
  /** container image; required by the container executor, ignored by the others */
  image?: string
  /**
   * where a wrapper shell records the task's exit status, so a restarted daemon can adopt the
   * task and learn how it ended (see process/exit-file.ts)
   */
  exitFile?: string
}

/** A task an earlier run of the daemon launched with an exit file: enough to take it over. */
export interface AdoptRequest {
  taskId: string
  attempt: number
  pid: number
  /** /proc start time recorded at launch: the pid may have been reused since */
  startTime: string
  exitFile: string
  startedAt: Date
  timeoutMs: number
  killGraceMs?: number
}

export type ExitState = 'succeeded' | 'failed' | 'timed_out' | 'cancelled'

export interface ExitStatus {
  state: ExitState
  /** 124 timed_out, 130 cancelled, 127/126 command not found / not executable, null when killed by a signal */
  exitCode: number | null
  /** the signal that ended the task's first process, if any */
  signal: string | null
  startedAt: Date
  finishedAt: Date
  /** one line for the result record: "command not found: foo", "timed out after 5s"... */
  error?: string
}

export interface Handle {
  /** the task's first process (its process group id); undefined when none was started */
  readonly pid: number | undefined
  /** resolves once, when the task has ended; never rejects */
  wait (): Promise<ExitStatus>
  /** sends `sig` to the whole task; a no-op once it has ended */
  signal (sig: NodeJS.Signals): void
  /** SIGTERM, then SIGKILL after the grace; resolves with a `cancelled` status (or the earlier end) */
  cancel (reason?: string): Promise<ExitStatus>
}

export type Availability = { ok: true } | { ok: false, reason: string }

export interface Executor {
  readonly name: ExecutorName
  /** whether this host can run tasks with this executor, and why not */
  available (): Promise<Availability>
  launch (spec: LaunchSpec): Promise<Handle>
  /** takes over a task launched before a restart; undefined when its process is gone */
  adopt? (spec: AdoptRequest): Promise<Handle | undefined>
  /** cancels everything still running and refuses further launches; idempotent */
  shutdown (): Promise<void>
}

export type ExecutorName = 'process' | 'systemd' | 'container' | 'mock'

export { LaunchError, ExecutorUnavailableError } from './errors.js'
export { DEFAULT_KILL_GRACE_MS, EXIT_CODE_CANCELLED, EXIT_CODE_TIMED_OUT, EXIT_CODE_NOT_FOUND, EXIT_CODE_NOT_EXECUTABLE } from './constants.js'
export { createExecutor, selectExecutor, isExecutorName, EXECUTOR_NAMES } from './factory.js'
export type { ExecutorInit, Selection } from './factory.js'
export { buildArgv, ProcessExecutor, processExecutor } from './process/index.js'
export type { ProcessExecutorInit } from './process/index.js'
export { buildSystemdArgv, systemdUnitName, systemdAvailability, SystemdExecutor, systemdExecutor } from './systemd/index.js'
export type { SystemdExecutorInit } from './systemd/index.js'
export { buildContainerArgv, containerName, containerAvailability, containerCliEnv, containerEnvArgs, ContainerExecutor, containerExecutor } from './container/index.js'
export type { ContainerExecutorInit, ContainerRuntime } from './container/index.js'
export { MockExecutor, MockHandle, mockExecutor, parseMockScript, MOCK_PROGRAM } from './mock/index.js'
export type { MockExecutorInit, MockScript, ParsedMock } from './mock/index.js'
export { hostProbe } from './probe.js'
export { processIdentity, isSameProcess, findGroupLeadersByEnv } from './process/procstat.js'
export { readExitFile } from './process/exit-file.js'
export type { HostProbe, ProbeResult } from './probe.js'
