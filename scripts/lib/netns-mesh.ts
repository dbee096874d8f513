/**
 * Benchmark helpers on top of the multi-host lab (scripts/lib/netns.ts): start many hosts' daemons
 * a few at a time (a 2-core machine cannot start 50 Node processes at once), tolerate hosts that do
 * not start and say why, talk to each daemon over its control socket in-process (no CLI process per
 * question), and read how busy the whole machine is (/proc/stat), so a report can say when it was
 * CPU-bound. Also an optional loader for scripts/lib/plot.ts.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { createControlClient } from '../../src/node/control/index.js'
import { mesh, stopGroup, waitGone } from './proc.js'
import { runPool } from './pool.js'
import { hostRunning, startHost } from './netns.js'
import type { ControlClient } from '../../src/node/control/index.js'
import type { PeerEntry } from '../../src/node/views.js'
import type { Reaper } from './proc.js'
import type { NetHost, NetLabState } from './netns.js'

export function control (host: Pick<NetHost, 'home'>): ControlClient {
  return createControlClient({ path: join(host.home, 'mesh.sock'), home: host.home })
}

export interface StartReport {
  started: NetHost[]
  failed: Array<{ host: NetHost, error: string }>
  ms: number
  /** set when starting stopped early (too many failures) */
  stoppedEarly?: string
}

export interface StartMeshOptions {
  reaper: Reaper
  /** daemons started at once after host1 and host2 (default 4) */
  concurrency?: number
  /** stop trying after this many failures (default 5) */
  maxFailures?: number
  /** per-host extra environment, e.g. NODE_OPTIONS=--cpu-prof for one host */
  envFor?: (h: NetHost) => NodeJS.ProcessEnv | undefined
  onStarted?: (h: NetHost, i: number) => void
}

/**
 * host1 first, host2 bootstrapping to it, then the rest `concurrency` at a time bootstrapping to
 * both (as netns.startAll does, but bounded and failure-tolerant: a host that does not start is
 * reported, not fatal, unless host1 or host2 fail).
 */
export async function startMesh (state: NetLabState, hosts: NetHost[], opts: StartMeshOptions): Promise<StartReport> {
  const t0 = performance.now()
  const rep: StartReport = { started: [], failed: [], ms: 0 }
  const [first, second, ...rest] = hosts
  const one = async (h: NetHost, bootstrap: string[]): Promise<void> => {
    if (rep.stoppedEarly != null) return
    try {
      const env = opts.envFor?.(h)
      await startHost(state, h, bootstrap, { reaper: opts.reaper, timeoutMs: 180_000, ...(env != null ? { env } : {}) })
      rep.started.push(h)
      opts.onStarted?.(h, rep.started.length)
    } catch (err) {
      rep.failed.push({ host: h, error: (err as Error).message.split('\n')[0] ?? String(err) })
      if (rep.failed.length >= (opts.maxFailures ?? 5)) rep.stoppedEarly = `${rep.failed.length} daemons failed to start; the last: ${rep.failed.at(-1)?.error ?? ''}`
    }
  }
  if (first == null) return rep
  await one(first, [])
  if (second != null && rep.started.length === 1) await one(second, [first.addr])
  if (rep.started.length < Math.min(2, hosts.length)) throw new Error(`the first daemons did not start: ${rep.failed.map(f => `${f.host.name}: ${f.error}`).join('; ')}`)
  const boot = [first.addr, ...(second != null ? [second.addr] : [])]
  await runPool(rest.length, opts.concurrency ?? 4, async i => { await one(rest[i] as NetHost, boot) })
  rep.ms = performance.now() - t0
  return rep
}

/** `mesh stop` (the daemon exits normally: a --cpu-prof profile gets written), SIGKILL as last resort */
export async function stopHostGracefully (state: NetLabState, host: NetHost, reaper: Reaper): Promise<void> {
  if (host.pid == null) return
  const pid = host.pid
  await mesh(['stop', '--home', host.home], { reaper, timeoutMs: 20_000 }).catch(() => undefined)
  if (!await waitGone(pid, 20_000)) await stopGroup(pid, 2_000)
  host.pid = hostRunning(state, host) ? host.pid : null
}

export async function peersOf (host: NetHost, timeoutMs = 20_000): Promise<PeerEntry[]> {
  return control(host).call<PeerEntry[]>('peers', {}, { timeoutMs })
}

export interface Convergence {
  ms: number
  /** per host: how many other hosts it saw online at the end */
  seen: Map<string, number>
  converged: boolean
}

/** Polls every host's peer table until each sees `expect` others online, or the time is up. */
export async function waitConverged (hosts: NetHost[], expect: number, timeoutMs: number, everyMs = 3_000): Promise<Convergence> {
  const t0 = performance.now()
  const seen = new Map<string, number>()
  for (;;) {
    const pending = hosts.filter(h => (seen.get(h.name) ?? -1) < expect)
    await runPool(pending.length, 6, async i => {
      const h = pending[i] as NetHost
      const peers = await peersOf(h).catch(() => [])
      seen.set(h.name, peers.filter(p => !p.self && p.state === 'online').length)
    })
    const converged = hosts.every(h => (seen.get(h.name) ?? 0) >= expect)
    if (converged || performance.now() - t0 > timeoutMs) return { ms: performance.now() - t0, seen, converged }
    await new Promise(resolve => setTimeout(resolve, everyMs))
  }
}

/** /proc/stat: jiffies of the whole machine, busy and total (every core) */
export function machineTicks (): { busy: number, total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? ''
  const xs = line.trim().split(/\s+/).slice(1).map(Number)
  const total = xs.reduce((a, b) => a + b, 0)
  const idle = (xs[3] ?? 0) + (xs[4] ?? 0)
  return { busy: total - idle, total }
}

/** share of the machine's CPU time (all cores) that was busy between two machineTicks() */
export function busyShare (a: { busy: number, total: number }, b: { busy: number, total: number }): number {
  const total = b.total - a.total
  return total > 0 ? (b.busy - a.busy) / total : NaN
}

/** the newest .cpuprofile of a process in DIR (`node --cpu-prof` names files CPU.<date>.<pid>.…) */
export function profileOf (dir: string, pid: number): string | undefined {
  if (!existsSync(dir)) return undefined
  const f = readdirSync(dir).filter(n => n.endsWith('.cpuprofile') && n.includes(`.${pid}.`)).sort().at(-1)
  return f != null ? join(dir, f) : undefined
}

// ---------------------------------------------------------------------------------------------
// plots: scripts/lib/plot.ts is written by another engineer; load it when it is there

export interface PlotLib {
  boxPlotSvg: (title: string, unit: string, series: Array<{ label: string, values: number[] }>) => string
  linePlotSvg: (title: string, xLabel: string, yLabel: string, series: Array<{ label: string, points: Array<[number, number]> }>) => string
  writePlot: (name: string, svg: string) => Promise<string>
}

/** the plot module, or a reason why there is none */
export async function loadPlots (): Promise<PlotLib | string> {
  const url = new URL('./plot.js', import.meta.url)
  try {
    const mod = await import(url.href) as Partial<PlotLib>
    if (typeof mod.boxPlotSvg !== 'function' || typeof mod.linePlotSvg !== 'function' || typeof mod.writePlot !== 'function') return 'scripts/lib/plot.ts lacks boxPlotSvg/linePlotSvg/writePlot'
    return mod as PlotLib
  } catch (err) {
    return `no plots: scripts/lib/plot.ts is not there yet (${(err as Error).message.split('\n')[0] ?? ''})`
  }
}
