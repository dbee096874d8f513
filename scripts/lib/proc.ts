/**
 * Process helpers for the lab and benchmark scripts: run the mesh CLI, start foreground daemons in
 * their own process groups, and make sure every group we started is gone when the script ends —
 * normally, on an error, or on Ctrl-C.
 */
import { spawn } from 'node:child_process'
import { closeSync, openSync } from 'node:fs'
import { performance } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import type { ChildProcess } from 'node:child_process'
import type { NodeInfo } from '../../src/node/views.js'
import { DAEMON_NODE_FLAGS } from '../../src/cli/node-flags.js'

/** dist/src/cli/main.js, next to the compiled script (dist/scripts/lib/proc.js) */
export const BUILT_MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url))
/**
 * The CLI the scripts run: this checkout's build, or $MESH_MAIN (another build's
 * dist/src/cli/main.js, e.g. a snapshot of a commit, to compare versions or to measure while the
 * working tree does not build).
 */
export const MESH_MAIN = process.env.MESH_MAIN != null && process.env.MESH_MAIN !== '' ? process.env.MESH_MAIN : BUILT_MAIN
/** the repository root (dist/scripts/lib → ../../..) */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url))
/** the Node binary running this script (the project's pinned Node 24 under npm run) */
export const NODE = process.execPath

export interface RunResult {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
  /** wall clock from spawn to exit, ms */
  ms: number
}

export interface RunOptions {
  env?: NodeJS.ProcessEnv
  timeoutMs?: number
  reaper?: Reaper
}

/** Runs a command to completion in its own process group (killed as a group on timeout). */
export async function run (cmd: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const started = performance.now()
    const child = spawn(cmd, args, {
      env: { ...process.env, ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true
    })
    const pid = child.pid
    if (pid != null) opts.reaper?.track(pid)
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString() })
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
    const timer = setTimeout(() => { if (pid != null) killGroup(pid, 'SIGKILL') }, opts.timeoutMs ?? 60_000)
    child.on('error', err => { clearTimeout(timer); reject(err) })
    child.on('close', (code, signal) => {
      const ms = performance.now() - started
      clearTimeout(timer)
      if (pid != null) opts.reaper?.untrack(pid)
      resolve({ code, signal, stdout, stderr, ms })
    })
  })
}

/** Runs `mesh ARGS` with the same Node binary. */
export async function mesh (args: string[], opts: RunOptions = {}): Promise<RunResult> {
  return run(NODE, [MESH_MAIN, ...args], opts)
}

/** Runs `mesh ARGS --json` and parses stdout; throws with stderr when the command fails. */
export async function meshJson<T> (args: string[], opts: RunOptions = {}): Promise<T> {
  const r = await mesh([...args, '--json'], opts)
  if (r.code !== 0) throw new Error(`mesh ${args.join(' ')} exited with ${r.code ?? r.signal ?? '?'}: ${r.stderr.trim()}`)
  return JSON.parse(r.stdout) as T
}

export function alive (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    // EPERM: it exists but is not ours
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** Sends a signal to a whole process group; false when the group is already gone. */
export function killGroup (pgid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pgid, signal)
    return true
  } catch {
    return false
  }
}

/** Waits until the process is gone; false on timeout. */
export async function waitGone (pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  while (alive(pid)) {
    if (Date.now() > deadline) return false
    await sleep(50)
  }
  return true
}

/** SIGTERM the group, then SIGKILL it if the leader is still there after `graceMs`. */
export async function stopGroup (pgid: number, graceMs = 10_000): Promise<void> {
  if (!killGroup(pgid, 'SIGTERM')) return
  if (await waitGone(pgid, graceMs)) return
  killGroup(pgid, 'SIGKILL')
  await waitGone(pgid, 5_000)
}

/**
 * Remembers every process group a script started and kills what is left when the script ends,
 * fails or is interrupted. Groups are untracked once they exit normally.
 */
export class Reaper {
  private readonly groups = new Set<number>()
  private readonly hooks: Array<() => Promise<void> | void> = []
  private cleaning?: Promise<void>
  /** set as soon as a signal arrived: the main flow should stop reporting its own failures */
  interrupted = false

  track (pgid: number): void { this.groups.add(pgid) }
  untrack (pgid: number): void { this.groups.delete(pgid) }
  get size (): number { return this.groups.size }

  /**
   * runs after the groups are gone (e.g. remove a temp dir), in the order registered; `first`
   * puts it before every hook so far (e.g. a lab teardown before the removal of its work dir)
   */
  onCleanup (fn: () => Promise<void> | void, { first = false } = {}): void {
    if (first) this.hooks.unshift(fn)
    else this.hooks.push(fn)
  }

  async cleanup (): Promise<void> {
    this.cleaning ??= (async () => {
      const groups = [...this.groups]
      await Promise.all(groups.map(async g => stopGroup(g, 5_000)))
      this.groups.clear()
      for (const fn of this.hooks.splice(0)) {
        try { await fn() } catch (err) { console.error(`cleanup: ${(err as Error).message}`) }
      }
    })()
    return this.cleaning
  }

  /** Ctrl-C, SIGTERM and SIGHUP clean up and exit 130; a plain exit SIGKILLs whatever is left. */
  installSignalHandlers (): void {
    const onSignal = (sig: NodeJS.Signals): void => {
      this.interrupted = true
      console.error(`\n${sig}: stopping every daemon this script started…`)
      void this.cleanup().finally(() => process.exit(130))
    }
    for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.once(sig, onSignal)
    process.once('exit', () => { for (const g of this.groups) killGroup(g, 'SIGKILL') })
  }
}

export interface ForegroundDaemon {
  pid: number
  info: NodeInfo
  proc: ChildProcess
  /** performance.now() at spawn and when the ready JSON was complete */
  spawnedAt: number
  readyAt: number
  /** the loopback address with /p2p/<id>, for --bootstrap */
  addr: string
  home: string
  logFile: string
}

export interface ForegroundDaemonOptions {
  home: string
  /** arguments after `mesh start --home H --json` */
  args: string[]
  /** the daemon's stderr (its log) goes here */
  logFile: string
  env?: NodeJS.ProcessEnv
  readyTimeoutMs?: number
  reaper: Reaper
  /** the build to run (default MESH_MAIN): a benchmark may alternate two builds in one run */
  main?: string
}

/**
 * `mesh start --json` in the foreground, as the leader of its own process group; resolves once the
 * node info JSON is on stdout (the daemon is ready), with the spawn and ready times.
 */
export async function startForeground (opts: ForegroundDaemonOptions): Promise<ForegroundDaemon> {
  const logFd = openSync(opts.logFile, 'a', 0o600)
  const spawnedAt = performance.now()
  // with the flags bin/mesh gives a daemon, so a lab measures what users run
  const proc = spawn(NODE, [...DAEMON_NODE_FLAGS, opts.main ?? MESH_MAIN, 'start', '--home', opts.home, '--json', ...opts.args], {
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'pipe', logFd],
    detached: true
  })
  closeSync(logFd)
  const pid = proc.pid
  if (pid == null) throw new Error(`cannot spawn a daemon for ${opts.home}`)
  opts.reaper.track(pid)
  proc.once('exit', () => { opts.reaper.untrack(pid) })
  const timeoutMs = opts.readyTimeoutMs ?? 60_000
  try {
    const { info, readyAt } = await new Promise<{ info: NodeInfo, readyAt: number }>((resolve, reject) => {
      let stdout = ''
      const timer = setTimeout(() => { reject(new Error(`daemon in ${opts.home} not ready after ${timeoutMs / 1000} s; see ${opts.logFile}`)) }, timeoutMs)
      proc.stdout?.on('data', (d: Buffer) => {
        stdout += d.toString()
        try {
          const info = JSON.parse(stdout) as NodeInfo
          const readyAt = performance.now()
          clearTimeout(timer)
          resolve({ info, readyAt })
        } catch { /* not complete yet */ }
      })
      proc.once('exit', code => { clearTimeout(timer); reject(new Error(`daemon in ${opts.home} exited with ${code ?? 'a signal'} before it was ready; see ${opts.logFile}`)) })
    })
    return { pid, info, proc, spawnedAt, readyAt, addr: loopbackAddr(info), home: opts.home, logFile: opts.logFile }
  } catch (err) {
    killGroup(pid, 'SIGKILL')
    throw err
  }
}

/** The node's 127.0.0.1 TCP address with /p2p/<id>. */
export function loopbackAddr (info: NodeInfo): string {
  const a = info.addresses.find(x => x.startsWith('/ip4/127.0.0.1/tcp/')) ?? info.addresses[0] ?? ''
  return a.includes('/p2p/') ? a : `${a}/p2p/${info.id}`
}

/** libp2p 3 needs Node >= 22; the system node here may be 20. Returns a message, or undefined when fine. */
export function nodeVersionProblem (): string | undefined {
  const major = Number(process.versions.node.split('.')[0])
  if (major >= 22) return undefined
  return `this is Node ${process.version}; mesh needs Node >= 22. Run through npm (npm run …) or node_modules/.bin/node, which use the project's pinned Node 24`
}
