/**
 * Shared bits of the executor tests: a temp dir per test with a work dir and log files, a spec
 * builder, and a Cleanup that kills every process group and pid a test started, even when the
 * test fails halfway.
 */
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { readFileSync } from 'node:fs'
import type { Handle, LaunchSpec } from '../../src/exec/index.js'

export interface TaskDir {
  root: string
  work: string
  stdout: string
  stderr: string
}

export async function taskDir (prefix = 'mesh-exec-'): Promise<TaskDir> {
  const root = await mkdtemp(join(tmpdir(), prefix))
  const work = join(root, 'work')
  await mkdir(work)
  return { root, work, stdout: join(root, 'stdout.log'), stderr: join(root, 'stderr.log') }
}

export function specIn (dir: TaskDir, over: Partial<LaunchSpec> = {}): LaunchSpec {
  return {
    taskId: 't1',
    attempt: 1,
    command: ['true'],
    shell: false,
    env: {},
    cwd: dir.work,
    numaNode: null,
    numactl: false,
    cores: 1,
    memoryMB: 64,
    timeoutMs: 30_000,
    killGraceMs: 2_000,
    stdout: dir.stdout,
    stderr: dir.stderr,
    ...over
  }
}

export async function readText (path: string): Promise<string> {
  return await readFile(path, 'utf8').catch(() => '')
}

/** Alive and not a zombie (an orphan nobody reaped yet is dead for our purposes). */
export function alive (pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // the state follows the parenthesised command name, which may itself contain ') '
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z'
  } catch {
    try {
      process.kill(pid, 0)
      return true
    } catch {
      return false
    }
  }
}

/** Polls `check` until it holds; fails with `what` after `limitMs` (a correctness bound, not a speed test). */
export async function eventually (check: () => boolean | Promise<boolean>, what: string, limitMs = 10_000): Promise<void> {
  const deadline = Date.now() + limitMs
  while (!await check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(20)
  }
}

/** Waits until the file at `path` contains `text`. */
export async function fileContains (path: string, text: string): Promise<void> {
  await eventually(async () => (await readText(path)).includes(text), `${JSON.stringify(text)} in ${path}`)
}

/** Pids of a file written by a task, one per line. */
export async function pidsIn (path: string): Promise<number[]> {
  return (await readText(path)).split('\n').filter((l) => l.trim() !== '').map(Number)
}

function kill (target: number, sig: NodeJS.Signals): void {
  try {
    process.kill(target, sig)
  } catch {
    // gone already
  }
}

/** Everything a test started; `run()` in afterEach kills it all and removes the temp dirs. */
export class Cleanup {
  readonly #handles: Handle[] = []
  readonly #pids: number[] = []
  readonly #dirs: string[] = []
  readonly #hooks: Array<() => Promise<void>> = []

  handle<H extends Handle> (handle: H): H {
    this.#handles.push(handle)
    return handle
  }

  pids (pids: number[]): void {
    this.#pids.push(...pids)
  }

  dir (dir: TaskDir): TaskDir {
    this.#dirs.push(dir.root)
    return dir
  }

  hook (fn: () => Promise<void>): void {
    this.#hooks.push(fn)
  }

  async run (): Promise<void> {
    for (const handle of this.#handles.splice(0)) {
      if (handle.pid !== undefined) kill(-handle.pid, 'SIGKILL')
    }
    for (const pid of this.#pids.splice(0)) kill(pid, 'SIGKILL')
    for (const fn of this.#hooks.splice(0)) await fn().catch(() => {})
    for (const dir of this.#dirs.splice(0)) await rm(dir, { recursive: true, force: true })
  }
}
