/**
 * Real `mesh` daemons as separate processes for multi-node tests. Each runs in its own process
 * group with a temp home and an OS-assigned loopback port; `stopAll()` (call it from `after`) kills
 * every group that is still alive, so a failing test leaves nothing behind.
 */
import { spawn } from 'node:child_process'
import { mkdtemp, readdir, readlink, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import type { NodeInfo, PeerEntry } from '../../src/node/views.js'
import type { ChildProcess } from 'node:child_process'

export const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url))
export const FIXTURES = fileURLToPath(new URL('../../../test/fixtures/', import.meta.url))

export interface CliResult { code: number | null, stdout: string, stderr: string }

/** Runs one CLI command to completion. */
export async function cli (args: string[], opts: { env?: NodeJS.ProcessEnv, timeoutMs?: number } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN, ...args], { env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString() })
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
    const timer = setTimeout(() => { child.kill('SIGKILL') }, opts.timeoutMs ?? 60_000)
    child.on('error', reject)
    child.on('close', code => { clearTimeout(timer); resolve({ code, stdout, stderr }) })
  })
}

export interface DaemonSpec {
  tags?: string[]
  bootstrap?: string[]
  swarmKey?: string
  env?: NodeJS.ProcessEnv
  /** reuse a home (restart tests) */
  home?: string
  /** written to config.json before start; fast timings keep tests short */
  config?: Record<string, unknown>
  extraArgs?: string[]
}

export interface TestDaemon {
  home: string
  id: string
  /** the loopback address with /p2p/<id>, for --bootstrap */
  addr: string
  info: NodeInfo
  proc: ChildProcess
  stderr: () => string
  cli: (args: string[], opts?: { timeoutMs?: number }) => Promise<CliResult>
  peers: (args?: string[]) => Promise<PeerEntry[]>
}

export const FAST_CONFIG = { heartbeatIntervalMs: 500, offlineAfterMs: 2_500 }

export class Cluster {
  private readonly daemons = new Set<TestDaemon>()
  private readonly homes = new Set<string>()

  async home (): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), 'mesh-test-'))
    this.homes.add(dir)
    return dir
  }

  async start (spec: DaemonSpec = {}): Promise<TestDaemon> {
    const home = spec.home ?? await this.home()
    if (spec.config != null) {
      await writeFile(join(home, 'config.json'), JSON.stringify({ version: 1, ...spec.config }), { mode: 0o600 })
    }
    const args = [MAIN, 'start', '--home', home, '--listen', '/ip4/127.0.0.1/tcp/0', '--no-mdns', '--json']
    for (const t of spec.tags ?? []) args.push('--tags', t)
    for (const b of spec.bootstrap ?? []) args.push('--bootstrap', b)
    if (spec.swarmKey != null) args.push('--swarm-key', spec.swarmKey)
    args.push(...(spec.extraArgs ?? []))
    const proc = spawn(process.execPath, args, {
      env: { ...process.env, MESH_LOG_LEVEL: 'debug', ...spec.env },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true
    })
    let stdout = ''
    let stderr = ''
    proc.stderr?.on('data', (d: Buffer) => { stderr += d.toString() })
    const info = await new Promise<NodeInfo>((resolve, reject) => {
      const timer = setTimeout(() => { reject(new Error(`daemon in ${home} not ready after 30 s:\n${stderr.slice(-3000)}`)) }, 30_000)
      proc.stdout?.on('data', (d: Buffer) => {
        stdout += d.toString()
        try {
          const parsed = JSON.parse(stdout) as NodeInfo
          clearTimeout(timer)
          resolve(parsed)
        } catch { /* not complete yet */ }
      })
      proc.once('exit', code => { clearTimeout(timer); reject(new Error(`daemon exited with ${code}:\n${stderr.slice(-3000)}`)) })
    })
    const loopback = info.addresses.find(a => a.startsWith('/ip4/127.0.0.1/tcp/')) ?? ''
    const addr = loopback.includes('/p2p/') ? loopback : `${loopback}/p2p/${info.id}`
    const daemon: TestDaemon = {
      home,
      id: info.id,
      addr,
      info,
      proc,
      stderr: () => stderr,
      // --home right after the command name: anything after `--` belongs to the task
      cli: async (a, o) => cli([...a.slice(0, 1), '--home', home, ...a.slice(1)], o),
      peers: async (extra = []) => {
        const r = await cli(['peers', '--json', '--home', home, ...extra])
        if (r.code !== 0) throw new Error(`mesh peers failed (${r.code}): ${r.stderr}`)
        return JSON.parse(r.stdout) as PeerEntry[]
      }
    }
    this.daemons.add(daemon)
    proc.once('exit', () => { this.daemons.delete(daemon) })
    return daemon
  }

  /** SIGKILL the daemon's whole process group: the crash case. */
  async kill (d: TestDaemon): Promise<void> {
    await killGroup(d.proc, 'SIGKILL')
    this.daemons.delete(d)
  }

  /** `mesh stop`, then wait for the process to exit. */
  async stop (d: TestDaemon): Promise<CliResult> {
    const exited = new Promise(resolve => { if (d.proc.exitCode != null) resolve(null); else d.proc.once('exit', resolve) })
    const r = await d.cli(['stop'])
    await Promise.race([exited, sleep(20_000)])
    this.daemons.delete(d)
    return r
  }

  async stopAll (): Promise<void> {
    await Promise.all([...this.daemons].map(async d => killGroup(d.proc, 'SIGKILL')))
    this.daemons.clear()
    // tasks outlive a SIGKILLed daemon by design (a restart adopts them): kill what runs in our homes
    await killTasksUnder([...this.homes])
    await Promise.all([...this.homes].map(async h => rm(h, { recursive: true, force: true })))
    this.homes.clear()
  }
}

/** Kills the process group of every process whose working directory lies under one of `roots`. */
export async function killTasksUnder (roots: string[]): Promise<void> {
  if (roots.length === 0) return
  for (const name of await readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(name)) continue
    const cwd = await readlink(`/proc/${name}/cwd`).catch(() => '')
    if (cwd === '' || !roots.some(r => cwd === r || cwd.startsWith(r + '/'))) continue
    try { process.kill(-Number(name), 'SIGKILL') } catch { try { process.kill(Number(name), 'SIGKILL') } catch { /* gone */ } }
  }
}

async function killGroup (proc: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (proc.pid == null || proc.exitCode != null || proc.signalCode != null) return
  const exited = new Promise(resolve => proc.once('exit', resolve))
  try { process.kill(-proc.pid, signal) } catch { return }
  await Promise.race([exited, sleep(10_000)])
}

/** Polls `fn` until it returns a truthy value or the deadline passes (then throws with the last value). */
export async function waitFor<T> (what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 30_000, everyMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let last: unknown
  while (Date.now() < deadline) {
    try {
      const v = await fn()
      if (v !== undefined && v !== false) return v
      last = v
    } catch (err) {
      last = err
    }
    await sleep(everyMs)
  }
  throw new Error(`timed out waiting for ${what}; last: ${last instanceof Error ? last.message : JSON.stringify(last)}`)
}
