/**
 * The `mock` executor: no processes, deterministic, driven by the task's command (see
 * script.ts). For tests of the runner, the scheduler and the CLI: `["mock", "exit=3"]` fails with
 * 3, `["mock", "sleep=inf"]` runs until cancelled. Logs are still written to the spec's files
 * so `mesh logs` has something to show, and every launch is recorded in `launches`.
 */
import { appendFile } from 'node:fs/promises'
import { DEFAULT_KILL_GRACE_MS } from '../constants.js'
import { buildTaskEnv } from '../env.js'
import { LaunchError } from '../errors.js'
import type { Availability, Executor, Handle, LaunchSpec } from '../index.js'
import { finishedHandle } from '../process/handle.js'
import { notFound } from '../resolve.js'
import { TaskSet } from '../tracker.js'
import { MockHandle } from './handle.js'
import { parseMockScript } from './script.js'

export { parseMockScript, MOCK_PROGRAM } from './script.js'
export type { MockScript, ParsedMock } from './script.js'
export { MockHandle } from './handle.js'

export interface MockExecutorInit {
  /** the base PATH, HOME, LANG, USER come from here; default {} so results do not depend on the host */
  daemonEnv?: NodeJS.ProcessEnv
  killGraceMs?: number
  /** makes `available()` report this reason, to test executor selection */
  unavailableReason?: string
}

async function appendLines (path: string, lines: string[]): Promise<void> {
  if (lines.length > 0) await appendFile(path, lines.map((line) => `${line}\n`).join(''))
}

export class MockExecutor implements Executor {
  readonly name = 'mock'
  /** every spec passed to launch(), in order, including those that failed */
  readonly launches: LaunchSpec[] = []
  /** every handle of a started mock task, in order */
  readonly handles: MockHandle[] = []
  readonly #daemonEnv: NodeJS.ProcessEnv
  readonly #killGraceMs: number
  readonly #unavailable: string | undefined
  readonly #tasks = new TaskSet()

  constructor (init: MockExecutorInit = {}) {
    this.#daemonEnv = init.daemonEnv ?? {}
    this.#killGraceMs = init.killGraceMs ?? DEFAULT_KILL_GRACE_MS
    this.#unavailable = init.unavailableReason
  }

  async available (): Promise<Availability> {
    return this.#unavailable === undefined ? { ok: true } : { ok: false, reason: this.#unavailable }
  }

  async launch (spec: LaunchSpec): Promise<Handle> {
    this.launches.push(spec)
    this.#tasks.checkOpen()
    const parsed = parseMockScript(spec.command)
    if (parsed.kind === 'not-found') {
      const problem = notFound(parsed.program)
      await appendLines(spec.stderr, [`mesh: ${problem.error}`])
      const now = new Date()
      return finishedHandle({ state: 'failed', exitCode: problem.exitCode, signal: null, startedAt: now, finishedAt: now, error: problem.error })
    }
    const { script } = parsed
    if (script.startError !== null) throw new LaunchError(script.startError, script.retryable)

    const env = buildTaskEnv(spec, this.#daemonEnv)
    await appendLines(spec.stdout, [...script.stdout, ...script.env.map((name) => `${name}=${env[name] ?? ''}`)])
    await appendLines(spec.stderr, script.stderr)
    const handle = new MockHandle(script, { timeoutMs: spec.timeoutMs, killGraceMs: spec.killGraceMs ?? this.#killGraceMs })
    this.handles.push(handle)
    return this.#tasks.add(handle)
  }

  async shutdown (): Promise<void> {
    await this.#tasks.shutdown()
  }
}

export function mockExecutor (init: MockExecutorInit = {}): MockExecutor {
  return new MockExecutor(init)
}
