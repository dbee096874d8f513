/**
 * What a mock task does, read from its own command, like Nomad's mock driver reads its config:
 *
 *   ["mock", "exit=3", "sleep=200", "stdout=hello", "stderr=oops", "env=MESH_TASK_ID"]
 *
 * | key         | meaning                                                                 |
 * |-------------|-------------------------------------------------------------------------|
 * | exit=N      | exit code when it ends by itself (default 0)                             |
 * | sleep=MS    | how long it runs; `inf` runs until timed out or cancelled (default 0)   |
 * | signal=SIG  | ends killed by SIG instead of exiting                                    |
 * | stdout=TEXT | a line written to the stdout log at start (repeatable)                   |
 * | stderr=TEXT | a line written to the stderr log at start (repeatable)                   |
 * | env=NAME    | writes `NAME=value` of the task's environment to stdout (repeatable)     |
 * | term=MS     | time it takes to exit after SIGTERM; `ignore` waits for SIGKILL (default 0) |
 * | start_error=MSG | launch() throws LaunchError(MSG)                                     |
 * | retryable=BOOL  | whether that LaunchError is retryable (default false)                |
 *
 * A command that is not `mock ...` fails like a missing program: "command not found: X", 127.
 * A string command is split on whitespace. Unknown keys and bad values are a non-retryable
 * LaunchError, so a typo in a test fails loudly. Pure.
 */
import { constants } from 'node:os'
import { LaunchError } from '../errors.js'

export interface MockScript {
  exitCode: number
  sleepMs: number
  signal: NodeJS.Signals | null
  stdout: string[]
  stderr: string[]
  env: string[]
  /** Infinity: ignores SIGTERM */
  termMs: number
  startError: string | null
  retryable: boolean
}

export type ParsedMock = { kind: 'script', script: MockScript } | { kind: 'not-found', program: string }

export const MOCK_PROGRAM = 'mock'

function bad (message: string): LaunchError {
  return new LaunchError(`mock: ${message}`, false)
}

function integer (key: string, value: string, max = Number.MAX_SAFE_INTEGER): number {
  if (!/^\d+$/.test(value) || Number(value) > max) throw bad(`${key} must be an integer in 0..${max}, got ${JSON.stringify(value)}`)
  return Number(value)
}

function duration (key: string, value: string, infinite: string[]): number {
  return infinite.includes(value) ? Infinity : integer(key, value)
}

function isSignal (value: string): value is NodeJS.Signals {
  return Object.hasOwn(constants.signals, value)
}

export function parseMockScript (command: string[] | string): ParsedMock {
  const argv = typeof command === 'string' ? command.trim().split(/\s+/) : command
  const [program = '', ...args] = argv
  if (program !== MOCK_PROGRAM) return { kind: 'not-found', program }

  const script: MockScript = { exitCode: 0, sleepMs: 0, signal: null, stdout: [], stderr: [], env: [], termMs: 0, startError: null, retryable: false }
  for (const arg of args) {
    const eq = arg.indexOf('=')
    if (eq <= 0) throw bad(`expected key=value, got ${JSON.stringify(arg)}`)
    const key = arg.slice(0, eq)
    const value = arg.slice(eq + 1)
    switch (key) {
      case 'exit': script.exitCode = integer(key, value, 255); break
      case 'sleep': script.sleepMs = duration(key, value, ['inf', 'forever']); break
      case 'term': script.termMs = duration(key, value, ['ignore']); break
      case 'stdout': script.stdout.push(value); break
      case 'stderr': script.stderr.push(value); break
      case 'env': script.env.push(value); break
      case 'start_error': script.startError = value; break
      case 'retryable':
        if (value !== 'true' && value !== 'false') throw bad(`retryable must be true or false, got ${JSON.stringify(value)}`)
        script.retryable = value === 'true'
        break
      case 'signal':
        if (!isSignal(value)) throw bad(`unknown signal ${JSON.stringify(value)}`)
        script.signal = value
        break
      default: throw bad(`unknown key ${JSON.stringify(key)}`)
    }
  }
  return { kind: 'script', script }
}
