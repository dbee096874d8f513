/**
 * The multi-host lab (scripts/lib/netns.ts) for node:test: hosts are network namespaces on a
 * bridge, each with its own daemon and home. `before` calls `up()`, `after` calls `down()`; a
 * process 'exit' handler and SIGINT/SIGTERM handlers tear the lab down too, and `up()` first reaps
 * labs of earlier runs that were killed before they could clean up.
 *
 *   const lab = new NetLab({ hosts: 4 })
 *   describe('…', { skip: netlabSkip() }, () => {
 *     before(async () => { await lab.up() })
 *     after(() => { lab.down() })
 *     it('…', async () => { const id = await lab.push(1, ['--tag', 'h3', '--', 'true']) … })
 *   })
 */
import { existsSync, readFileSync } from 'node:fs'
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import {
  createLab, cutHost, healHost, hostRunning, killHost, leftovers, makeSwarmKey, netnsProblem, reapStale,
  startAll, startHost, teardown
} from '../../scripts/lib/netns.js'
import { daemonClient } from '../../src/cli/client.js'
import { cli, FAST_CONFIG } from './daemons.js'
import type { CliResult } from './daemons.js'
import type { NetHost, NetLabState, TeardownReport } from '../../scripts/lib/netns.js'
import type { TaskRecord } from '../../src/protocols/results/index.js'
import type { PeerEntry } from '../../src/node/views.js'
import type { PushParams } from '../../src/node/api.js'
import type { DispatchEvent } from '../../src/node/dispatch/index.js'

import { FINAL_STATES } from '../../src/protocols/results/index.js'

export { FINAL_STATES }

/** a reason to skip the lab tests (not root, no `ip netns`, Node too old), or false */
export function netlabSkip (): string | false {
  const major = Number(process.versions.node.split('.')[0])
  if (major < 22) return `Node ${process.version}: mesh needs Node >= 22`
  const problem = netnsProblem()
  return problem == null ? false : `multi-host lab unavailable: ${problem}`
}

export interface NetLabOptions {
  hosts: number
  /** tags of host K at index K-1; default: host K has `hK` */
  tags?: string[][]
  /** config.json fields for every home; default FAST_CONFIG (500 ms heartbeats) */
  config?: Record<string, unknown>
  /** the daemons' MESH_LOG_LEVEL (default debug: the logs explain a failure) */
  logLevel?: string
}

export class NetLab {
  private readonly opts: NetLabOptions
  private stateValue: NetLabState | undefined
  private dirValue: string | undefined
  private readonly onExit = (): void => { this.down() }
  private readonly onSignal = (sig: NodeJS.Signals): void => {
    this.down()
    process.kill(process.pid, sig)
  }

  constructor (opts: NetLabOptions) {
    this.opts = opts
  }

  get state (): NetLabState {
    if (this.stateValue == null) throw new Error('the lab is not up')
    return this.stateValue
  }

  /** the lab's folder: netlab.json, swarm.key, homes host1 … hostN, and `shared` */
  get dir (): string {
    if (this.dirValue == null) throw new Error('the lab is not up')
    return this.dirValue
  }

  /** a folder every host's tasks can write to (namespaces share the file system) */
  get shared (): string { return join(this.dir, 'shared') }

  get hosts (): NetHost[] { return this.state.hosts }

  host (k: number): NetHost {
    const h = this.state.hosts[k - 1]
    if (h == null) throw new Error(`no host${k} in this lab`)
    return h
  }

  /** builds the network, starts every daemon and waits until every host sees every other online */
  async up (): Promise<void> {
    for (const r of reapStale()) console.error(`# reaped a stale lab of an earlier run: ${r.dir} (run ${r.runId ?? '?'}, ${r.killed} process(es))`)
    this.dirValue = await mkdtemp(join(tmpdir(), 'mesh-netlab-'))
    process.once('exit', this.onExit)
    process.once('SIGINT', this.onSignal)
    process.once('SIGTERM', this.onSignal)
    const tags = this.opts.tags ?? Array.from({ length: this.opts.hosts }, (_, i) => [`h${i + 1}`])
    this.stateValue = createLab({
      dir: this.dirValue,
      hosts: this.opts.hosts,
      tags,
      owner: process.pid,
      config: this.opts.config ?? FAST_CONFIG,
      logLevel: this.opts.logLevel ?? 'debug'
    })
    await mkdir(this.shared, { recursive: true })
    await makeSwarmKey(this.state)
    await startAll(this.state)
    await this.waitMesh()
  }

  /** Tears everything down (idempotent, synchronous); the report says what could not be removed. */
  down (): TeardownReport | undefined {
    process.off('exit', this.onExit)
    process.off('SIGINT', this.onSignal)
    process.off('SIGTERM', this.onSignal)
    if (this.dirValue == null) return undefined
    const runId = this.stateValue?.runId
    const report = teardown(this.dirValue, runId)
    const left = runId != null ? leftovers(runId) : []
    if (report.problems.length > 0 || left.length > 0) console.error(`# lab teardown incomplete: ${[...report.problems, ...left].join('; ')}`)
    this.dirValue = undefined
    this.stateValue = undefined
    return report
  }

  // -------------------------------------------------------------------------------------------
  // faults

  /** kill -9 the host's daemon (its tasks live on); `everything`: every process of the host */
  kill (k: number, { everything = false } = {}): void {
    killHost(this.state, this.host(k), { everything })
  }

  /** the host's daemon again, same home and address, bootstrapping to every other host */
  async restart (k: number): Promise<void> {
    await startHost(this.state, this.host(k))
  }

  running (k: number): boolean { return hostRunning(this.state, this.host(k)) }

  /** heals every cut link, restarts every stopped daemon, waits until the mesh is whole again */
  async restore (): Promise<void> {
    if (this.stateValue == null) return
    for (const h of this.hosts) if (h.cut) this.heal(h.index)
    for (const h of this.hosts) if (!this.running(h.index)) await this.restart(h.index)
    await this.waitMesh()
  }

  cut (k: number): void { cutHost(this.state, this.host(k)) }
  heal (k: number): void { healHost(this.state, this.host(k)) }

  // -------------------------------------------------------------------------------------------
  // the CLI against a host's home (from the root namespace: the socket is a file)

  async cli (k: number, args: string[], opts: { timeoutMs?: number } = {}): Promise<CliResult> {
    // --home right after the command name: anything after `--` belongs to the task
    return cli([...args.slice(0, 1), '--home', this.host(k).home, ...args.slice(1)], opts)
  }

  async json<T> (k: number, args: string[]): Promise<T> {
    const r = await this.cli(k, [...args, '--json'])
    if (r.code !== 0) throw new Error(`host${k}: mesh ${args.join(' ')} exited with ${r.code ?? '?'}: ${r.stderr.trim()}`)
    return JSON.parse(r.stdout) as T
  }

  async peers (k: number): Promise<PeerEntry[]> { return this.json<PeerEntry[]>(k, ['peers']) }

  /** `mesh push --detach --json ARGS` on host K; the task id */
  async push (k: number, args: string[]): Promise<string> {
    const dd = args.indexOf('--')
    const flags = dd >= 0 ? args.slice(0, dd) : args
    const rest = dd >= 0 ? args.slice(dd) : []
    const r = await this.cli(k, ['push', '--detach', '--json', ...flags, ...rest])
    if (r.code !== 0) throw new Error(`host${k}: mesh push ${args.join(' ')} exited with ${r.code ?? '?'}: ${r.stderr.trim()}`)
    return (JSON.parse(r.stdout) as { id: string }).id
  }

  /**
   * Submits a task file's text to host K's daemon like `mesh push --detach` does, through the CLI's
   * client in this process: no CLI process and no schema compile per task, so a load test can
   * push hundreds of tasks on two cores. The daemon validates the task as for the CLI.
   */
  async submit (k: number, text: string, { waitSec = 30, tags = [] as string[] } = {}): Promise<string> {
    const client = daemonClient(this.host(k).home)
    const params: PushParams = { text, name: 'task.json', baseDir: this.shared, tags, all: false, waitMs: waitSec * 1000, detach: true, follow: false }
    for await (const ev of client.stream<DispatchEvent>('push', params)) {
      if (ev.type === 'submitted') return ev.id
      if (ev.type === 'unplaceable') throw new Error(`host${k}: task ${ev.id}: ${ev.reason}`)
    }
    throw new Error(`host${k}: the daemon ended the push stream without a task id`)
  }

  /** writes a task file into the shared folder and pushes it from host K */
  async pushTask (k: number, task: Record<string, unknown>, args: string[] = []): Promise<string> {
    const file = join(this.shared, `task-${Date.now()}-${Math.random().toString(36).slice(2, 8)}.json`)
    await writeFile(file, JSON.stringify(task))
    return this.push(k, [...args, file])
  }

  /** host K's record of a task; undefined when it has none or its daemon is down */
  async status (k: number, id: string): Promise<TaskRecord | undefined> {
    const r = await this.cli(k, ['status', id, '--json'])
    if (r.code !== 0) return undefined
    const v = JSON.parse(r.stdout) as TaskRecord | TaskRecord[]
    return Array.isArray(v) ? v.find(x => x.id === id) : v
  }

  /** every record host K holds */
  async tasks (k: number): Promise<TaskRecord[]> {
    return this.json<TaskRecord[]>(k, ['tasks', '--limit', '100000'])
  }

  /** the task's record on every host (undefined where none), index 0 = host1 */
  async statusEverywhere (id: string): Promise<Array<TaskRecord | undefined>> {
    return Promise.all(this.hosts.map(async h => this.status(h.index, id)))
  }

  /** until host K's record of the task is `running` on a known runner; that record */
  async waitRunning (k: number, id: string, timeoutMs = 60_000): Promise<TaskRecord> {
    return this.waitFor(`task ${id} running (seen from host${k})`, async () => {
      const r = await this.status(k, id)
      if (r?.state === 'running' && r.runner != null) return r
      throw new Error(`host${k}: ${brief(r)}`)
    }, timeoutMs, 250)
  }

  /**
   * Until host K's record says the task ended for good: a final state, except `lost` with retries
   * left (the dispatcher publishes `lost` for the attempt, then `queued` for the next one).
   */
  async waitEnded (k: number, id: string, retries: number, timeoutMs = 180_000): Promise<TaskRecord> {
    return this.waitFor(`task ${id} ended for good on host${k}`, async () => {
      const r = await this.status(k, id)
      if (r != null && endedForGood(r, retries)) return r
      throw new Error(`host${k}: ${brief(r)}${r?.error != null ? ` (${r.error})` : ''}`)
    }, timeoutMs)
  }

  /** the lab host whose daemon has this peer id */
  byId (peerId: string | null | undefined): NetHost | undefined {
    return this.hosts.find(h => h.id === peerId)
  }

  /** until every running, connected host sees every other such host online */
  async waitMesh (timeoutMs = 90_000): Promise<void> {
    await this.waitFor('every host sees every other online', async () => {
      const live = this.hosts.filter(h => hostRunning(this.state, h) && !h.cut)
      const views = await Promise.all(live.map(async h => ({ h, peers: await this.peers(h.index) })))
      const missing = views.flatMap(({ h, peers }) => live
        .filter(o => !peers.some(p => p.id === o.id && p.state === 'online'))
        .map(o => `${h.name} misses ${o.name}`))
      if (missing.length > 0) throw new Error(missing.join(', '))
      return true
    }, timeoutMs)
  }

  /**
   * Polls `fn` until it returns something other than undefined or false (it may throw to say what
   * is still missing); on timeout throws with the last value and the daemons' warnings and errors.
   */
  async waitFor<T> (what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 120_000, everyMs = 500): Promise<T> {
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
    const lastText = last instanceof Error ? last.message : JSON.stringify(last)
    throw new Error(`timed out after ${Math.round(timeoutMs / 1000)} s waiting for ${what}; last: ${lastText?.slice(0, 4000)}\n${this.diagnose()}`)
  }

  // -------------------------------------------------------------------------------------------
  // diagnostics

  /** the last lines of host K's daemon.log at or above `minLevel` (pino: 40 warn, 50 error) */
  logTail (k: number, lines = 15, minLevel = 40, grep?: string): string[] {
    const file = join(this.host(k).home, 'daemon.log')
    if (!existsSync(file)) return []
    const out: string[] = []
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      if (line === '') continue
      if (grep != null && !line.includes(grep)) continue
      let level = 0
      try { level = (JSON.parse(line) as { level?: number }).level ?? 0 } catch { level = 60 }
      if (level >= minLevel) out.push(line.length > 600 ? line.slice(0, 600) + '…' : line)
    }
    return out.slice(-lines)
  }

  /** one paragraph per host: daemon up or down, link, and its last warnings */
  diagnose (grep?: string): string {
    if (this.stateValue == null) return ''
    return this.hosts.map(h => {
      const head = `--- ${h.name} (${h.ip}) daemon ${hostRunning(this.state, h) ? `up pid ${h.pid ?? '?'}` : 'DOWN'}, link ${h.cut ? 'CUT' : 'up'}, log ${join(h.home, 'daemon.log')}`
      const lines = grep != null ? this.logTail(h.index, 15, 0, grep) : this.logTail(h.index)
      return [head, ...lines].join('\n')
    }).join('\n')
  }
}

/**
 * Lines "<task id> <attempt>" that tasks appended to a file (namespaces share the file system):
 * task id → attempts, in the order they were written.
 */
export function executions (file: string): Map<string, number[]> {
  const out = new Map<string, number[]>()
  if (!existsSync(file)) return out
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const [id, attempt] = line.trim().split(' ')
    if (id == null || id === '' || attempt == null) continue
    out.set(id, [...(out.get(id) ?? []), Number(attempt)])
  }
  return out
}

/** a final state, and not a `lost` attempt that will be retried */
export function endedForGood (r: TaskRecord, retries: number): boolean {
  return FINAL_STATES.has(r.state) && !(r.state === 'lost' && r.attempt <= retries)
}

/** the fields every node must agree on once a task is final */
export function settled (r: TaskRecord | undefined): string {
  if (r == null) return 'none'
  return JSON.stringify([r.state, r.attempt, r.runner, r.exitCode, r.startedAt, r.finishedAt, r.stdout])
}

/** a compact view of a record for assertions and messages */
export function brief (r: TaskRecord | undefined): string {
  if (r == null) return 'none'
  return `${r.state}/attempt ${r.attempt}/${r.runnerName ?? r.runner ?? '-'}/exit ${r.exitCode ?? '-'}`
}
