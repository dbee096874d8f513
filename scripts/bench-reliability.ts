/**
 * Reliability benchmark with real daemons (issue 5), default timings throughout — the figures are
 * for the defaults, so nothing here shortens the detector, the heartbeat or the retry backoff:
 *
 *   1. detection — a loopback mesh of a dispatcher, a second observer and two runners; a runner is
 *      SIGKILLed again and again: kill → the dispatcher's `peer dead` log line (component liveness),
 *      against heartbeat silence alone, measured at the same kills on the second observer, whose
 *      detector is made unable to decide (`probeFailures: 100`) so only `offlineAfterMs` counts.
 *   2. reschedule — `sleep 2` with `"retries": 1` on a tag both runners hold; its runner is killed
 *      0.5 s after the task reports running: kill → the final `succeeded` record (attempt 2) at the
 *      dispatcher, broken down from the dispatcher's log, against the same task without a kill.
 *   3. memory — one daemon holding 10,000 queued tasks (a tag nobody has, a 1 h wait), pushed
 *      through its control socket: RSS and V8 heap (after a full GC) before and after, CPU while it
 *      holds them, and the 10,001st push refused.
 *   4. partition — a lab of network namespaces (root only): one host's link cut for 30 s while
 *      tasks run and finish on both sides; heal → every host holds every final record, against a
 *      result reaching every host by gossip while connected.
 *
 * Rewrites the section between <!-- bench:reliability:start --> and <!-- bench:reliability:end -->
 * of BENCHMARKS.md (creating the file if needed).
 */
import { cpSync, existsSync, readFileSync, readdirSync } from 'node:fs'
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises'
import { loadavg, tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { performance } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import { parseArgs } from 'node:util'
import { defaultConfig } from '../src/node/config.js'
import { createControlClient } from '../src/node/control/index.js'
import { FINAL_STATES } from '../src/protocols/results/index.js'
import { benchFailed, benchStart } from './lib/bench-main.js'
import { warnings } from './lib/daemon-logs.js'
import { INSPECTABLE_ENV, heapAfterGc, openInspector } from './lib/inspector.js'
import { LogWatch } from './lib/log-watch.js'
import {
  createLab, cutHost, healHost, leftovers, makeSwarmKey, netnsProblem, readNetState, reapStale, startAll, teardown
} from './lib/netns.js'
import { runPool } from './lib/pool.js'
import { BUILT_MAIN, MESH_MAIN, REPO_ROOT, killGroup, mesh, startForeground, stopGroup, waitGone } from './lib/proc.js'
import { clockTicksPerSecond, cpuTicks, machineFacts, rssKiB } from './lib/procfs.js'
import { fmtMs, fmtNum, fmtS, mdTable, publishSection } from './lib/report.js'
import { median, summarize } from './lib/stats.js'
import { whole } from './lib/args.js'
import type { ControlClient } from '../src/node/control/index.js'
import type { PushParams } from '../src/node/api.js'
import type { DispatchEvent } from '../src/node/dispatch/index.js'
import type { PeerEntry } from '../src/node/views.js'
import type { TaskRecord } from '../src/protocols/results/index.js'
import type { MemoryUsage } from './lib/inspector.js'
import type { LogLine } from './lib/log-watch.js'
import type { NetHost, NetLabState } from './lib/netns.js'
import type { ForegroundDaemon, Reaper } from './lib/proc.js'
import type { MachineFacts } from './lib/procfs.js'
import type { Summary } from './lib/stats.js'

const SECTION = 'bench:reliability'
const TAG = 'rel'
/** a tag no daemon has: tasks with it stay queued */
const NOBODY = 'nobody-has-this-tag'
/** the daemons' defaults this benchmark reports on (src/node/config.ts, src/node/liveness/constants.ts) */
const DEFAULTS = (() => {
  const c = defaultConfig()
  return { heartbeatMs: c.heartbeatIntervalMs, offlineAfterMs: c.offlineAfterMs, suspectAfterMs: c.suspectAfterMs, probeIntervalMs: c.probeIntervalMs, probeTimeoutMs: c.probeTimeoutMs, probeFailures: c.probeFailures, retryBaseMs: 1_000 }
})()
/** the silence-only observer: its detector would need 100 failed probes (≈ 100 s) to declare a peer dead */
const SILENCE_ONLY = { probeFailures: 100 }
const DEFAULT_MAX_QUEUED = 10_000

const HELP = `Usage: npm run bench:reliability -- [options]

Measures failure handling with real daemons and their DEFAULT timings, then rewrites the
bench:reliability section of BENCHMARKS.md:
  1. detection: SIGKILL a runner of a 4-daemon loopback mesh, time to the dispatcher's 'peer dead'
     log line; baseline at the same kills: an observer with probeFailures 100 (heartbeat silence
     only) showing the peer offline
  2. reschedule: 'sleep 2' with retries 1, its runner killed 0.5 s after it runs: kill → final
     succeeded record (attempt 2) at the dispatcher; baseline: the same task without a kill
  3. memory: one daemon holding --queued tasks nobody can take: RSS, V8 heap, CPU; the next push
     is refused (maxQueuedTasks)
  4. partition (root and 'ip netns' only; skipped with a line otherwise): a 4-host namespace lab,
     host4's link cut for --cut-s seconds while tasks finish on both sides; heal → every host holds
     every final record; baseline: a result reaching every host by gossip while connected
About 15 minutes with the defaults.

Options:
  --samples 12          kills of part 1
  --reschedule 5        killed tasks of part 2 (and as many tasks without a kill, alternating)
  --queued 10000        tasks held in part 3 (the default maxQueuedTasks is 10000: the next one is refused)
  --cpu-s 30            seconds of CPU measurement in part 3 (idle, then holding the tasks)
  --partitions 3        cuts of part 4
  --cut-s 30            length of each cut, seconds
  --only LIST           run only some of: detection,reschedule,memory,partition
  --out FILE            report file (default BENCHMARKS.md in the repository)
  --no-write            print the report, do not touch the file
  --keep                keep homes and daemon logs (in a temp folder) afterwards
  -h, --help            this text

Every daemon runs in its own process group and is stopped at the end, on failure and on Ctrl-C;
the namespace lab is torn down the same way (also from the process 'exit' handler).
Set MESH_MAIN=/path/to/dist/src/cli/main.js to measure another build.`

type Phase = 'detection' | 'reschedule' | 'memory' | 'partition'
const PHASES: readonly Phase[] = ['detection', 'reschedule', 'memory', 'partition']

interface Options {
  samples: number
  reschedule: number
  queued: number
  cpuS: number
  partitions: number
  cutS: number
  only: Set<Phase>
  out: string
  write: boolean
  keep: boolean
}

function parse (argv: string[]): Options | 'help' {
  const { values } = parseArgs({
    args: argv,
    options: {
      samples: { type: 'string', default: '12' },
      reschedule: { type: 'string', default: '5' },
      queued: { type: 'string', default: '10000' },
      'cpu-s': { type: 'string', default: '30' },
      partitions: { type: 'string', default: '3' },
      'cut-s': { type: 'string', default: '30' },
      only: { type: 'string', default: PHASES.join(',') },
      out: { type: 'string', default: join(REPO_ROOT, 'BENCHMARKS.md') },
      'no-write': { type: 'boolean', default: false },
      keep: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false }
    }
  })
  if (values.help) return 'help'
  const only = new Set<Phase>()
  for (const p of values.only.split(',').map(s => s.trim())) {
    if (!(PHASES as readonly string[]).includes(p)) throw new Error(`--only: unknown part '${p}' (${PHASES.join(', ')})`)
    only.add(p as Phase)
  }
  return {
    samples: whole('--samples', values.samples, 1),
    reschedule: whole('--reschedule', values.reschedule, 1),
    queued: whole('--queued', values.queued, 1),
    cpuS: whole('--cpu-s', values['cpu-s'], 1),
    partitions: whole('--partitions', values.partitions, 1),
    cutS: whole('--cut-s', values['cut-s'], 1),
    only,
    out: resolve(values.out),
    write: !values['no-write'],
    keep: values.keep
  }
}

interface Ctx {
  workdir: string
  swarmKey: string
  reaper: Reaper
  notes: string[]
  /** every daemon log of the run, for the warnings summary */
  logs: string[]
  keep: { value: boolean }
}

class Interrupted extends Error {}

function checkInterrupted (ctx: Ctx): void {
  if (ctx.reaper.interrupted) throw new Interrupted('interrupted')
}

function clientFor (home: string): ControlClient {
  return createControlClient({ path: join(home, 'mesh.sock'), home })
}

/** polls `fn` until it returns something other than undefined; throws after `timeoutMs` with `what` */
async function until<T> (ctx: Ctx, what: string, fn: () => Promise<T | undefined>, timeoutMs: number, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let last = ''
  for (;;) {
    checkInterrupted(ctx)
    try {
      const v = await fn()
      if (v !== undefined) return v
    } catch (err) {
      last = (err as Error).message
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${Math.round(timeoutMs / 1000)} s waiting for ${what}${last !== '' ? ` (last: ${last})` : ''}`)
    await sleep(everyMs)
  }
}

// ---------------------------------------------------------------- the loopback mesh (parts 1, 2)

interface Member {
  name: string
  tags: string[]
  config: Record<string, unknown>
  home: string
  daemon: ForegroundDaemon
  log: LogWatch
  client: ControlClient
}

class LoopMesh {
  readonly members: Member[] = []
  private readonly ctx: Ctx

  constructor (ctx: Ctx) {
    this.ctx = ctx
  }

  get dispatcher (): Member { return this.members[0] as Member }
  /** the second observer: heartbeat silence only */
  get silent (): Member { return this.members[1] as Member }
  get runners (): Member[] { return this.members.slice(2) }

  private args (m: Pick<Member, 'tags'>, bootstrap: string[]): string[] {
    const args = ['--listen', '/ip4/127.0.0.1/tcp/0', '--no-mdns', '--swarm-key', this.ctx.swarmKey]
    if (m.tags.length > 0) args.push('--tags', m.tags.join(','))
    for (const b of bootstrap) args.push('--bootstrap', b)
    return args
  }

  private async spawn (name: string, tags: string[], config: Record<string, unknown>): Promise<Member> {
    const home = join(this.ctx.workdir, `mesh-${name}`)
    await mkdir(home, { recursive: true, mode: 0o700 })
    await writeFile(join(home, 'config.json'), JSON.stringify({ version: 1, name, ...config }), { mode: 0o600 })
    const bootstrap = this.members.slice(0, 2).map(x => x.daemon.addr)
    const logFile = join(home, 'daemon.log')
    const daemon = await startForeground({ home, args: this.args({ tags }, bootstrap), logFile, reaper: this.ctx.reaper, readyTimeoutMs: 90_000 })
    this.ctx.logs.push(logFile)
    const m: Member = { name, tags, config, home, daemon, log: new LogWatch(logFile), client: clientFor(home) }
    this.members.push(m)
    return m
  }

  async up (): Promise<void> {
    process.stdout.write('[mesh] starting dispatcher')
    await this.spawn('dispatcher', [], {})
    process.stdout.write(', observer (probeFailures 100)')
    await this.spawn('observer', [], SILENCE_ONLY)
    for (const r of ['runner1', 'runner2']) {
      process.stdout.write(`, ${r}`)
      await this.spawn(r, [TAG], {})
    }
    process.stdout.write('\n')
    const t0 = performance.now()
    await this.waitWhole(90_000)
    console.log(`[mesh] every daemon sees every other online after ${fmtS(performance.now() - t0)}`)
  }

  /** until every member sees every other online (and the dispatcher's detector calls each alive) */
  async waitWhole (timeoutMs: number): Promise<void> {
    await until(this.ctx, 'every daemon to see every other online', async () => {
      for (const m of this.members) {
        const peers = await m.client.call<PeerEntry[]>('peers', {}, { timeoutMs: 10_000 })
        for (const o of this.members) {
          if (o === m) continue
          const e = peers.find(p => p.id === o.daemon.info.id)
          if (e?.state !== 'online') throw new Error(`${m.name} sees ${o.name} ${e?.state ?? 'not at all'}`)
          if (m === this.dispatcher && e.liveness != null && e.liveness !== 'alive') throw new Error(`${m.name}'s detector calls ${o.name} ${e.liveness}`)
        }
      }
      return true
    }, timeoutMs, 250)
  }

  /** kill -9 of the member's daemon (its process group; tasks lead their own groups and live on); epoch ms just before */
  kill (m: Member): number {
    const at = Date.now()
    killGroup(m.daemon.pid, 'SIGKILL')
    return at
  }

  /** the member's daemon again, same home (same peer id), bootstrapping to the dispatcher and the observer */
  async restart (m: Member): Promise<number> {
    await waitGone(m.daemon.pid, 10_000)
    const bootstrap = this.members.slice(0, 2).filter(x => x !== m).map(x => x.daemon.addr)
    const t0 = performance.now()
    m.daemon = await startForeground({ home: m.home, args: this.args(m, bootstrap), logFile: m.log.file, reaper: this.ctx.reaper, readyTimeoutMs: 90_000 })
    return performance.now() - t0
  }

  async down (): Promise<void> {
    await Promise.all(this.members.map(async m => stopGroup(m.daemon.pid)))
  }
}

// ---------------------------------------------------------------- 1. detection

interface DetectionSample {
  victim: string
  /** kill → the dispatcher's 'peer dead', ms */
  dispatcher: number
  dispatcherReason: string
  /** kill → the other runner's 'peer dead', ms */
  otherRunner: number
  /** kill → lastSeen + offlineAfterMs on the silence-only observer (the moment its table turns offline), ms */
  silence: number
  /** kill → the first poll of the silence-only observer showing the peer offline, ms */
  silencePolled: number
  /** the silence-only observer's detector state when it showed the peer offline */
  silenceLiveness: string
  /** restart → ready, ms */
  restartMs: number
}

interface DetectionResult {
  samples: DetectionSample[]
  failures: string[]
}

async function detection (ctx: Ctx, m: LoopMesh, n: number): Promise<DetectionResult> {
  console.log(`\n[detection] ${n} kills of a runner (alternating), default timings…`)
  const out: DetectionResult = { samples: [], failures: [] }
  const d = m.dispatcher
  const obs = m.silent
  for (let i = 0; i < n; i++) {
    checkInterrupted(ctx)
    const victim = m.runners[i % m.runners.length] as Member
    const other = m.runners.find(r => r !== victim) as Member
    const id = victim.daemon.info.id
    // a random phase of the heartbeat cycle
    await sleep(2_000 + Math.random() * DEFAULTS.heartbeatMs)
    for (const x of m.members) x.log.poll()
    const killAt = m.kill(victim)
    const isDead = (l: LogLine): boolean => l.msg === 'peer dead' && l.peer === id
    const [deadD, deadO, silent] = await Promise.all([
      d.log.waitFor(killAt, isDead, 60_000),
      other.log.waitFor(killAt, isDead, 60_000),
      until(ctx, `${obs.name} to show ${victim.name} offline`, async () => {
        const e = (await obs.client.call<PeerEntry[]>('peers', {}, { timeoutMs: 10_000 })).find(p => p.id === id)
        if (e == null || e.state !== 'offline') return undefined
        return { polledAt: Date.now(), lastSeen: e.lastSeen != null ? Date.parse(e.lastSeen) : NaN, liveness: e.liveness ?? '-' }
      }, 60_000, 100).catch(() => undefined)
    ])
    if (deadD == null) out.failures.push(`kill ${i + 1} (${victim.name}): no 'peer dead' at the dispatcher within 60 s`)
    const restartMs = await m.restart(victim)
    await m.waitWhole(90_000)
    const s: DetectionSample = {
      victim: victim.name,
      dispatcher: deadD != null ? deadD.at - killAt : NaN,
      dispatcherReason: typeof deadD?.reason === 'string' ? deadD.reason : '-',
      otherRunner: deadO != null ? deadO.at - killAt : NaN,
      silence: silent != null ? silent.lastSeen + DEFAULTS.offlineAfterMs - killAt : NaN,
      silencePolled: silent != null ? silent.polledAt - killAt : NaN,
      silenceLiveness: silent?.liveness ?? '-',
      restartMs
    }
    out.samples.push(s)
    console.log(`  kill ${i + 1}/${n} ${victim.name}: dead at the dispatcher after ${fmtS(s.dispatcher)}, at ${other.name} ${fmtS(s.otherRunner)}; silence-only offline after ${fmtS(s.silence)} (polled ${fmtS(s.silencePolled)}); restarted in ${fmtS(restartMs)}`)
  }
  return out
}

// ---------------------------------------------------------------- 2. reschedule

interface RescheduleSample {
  kind: 'kill' | 'baseline'
  id: string
  /** submit → result at the caller, ms */
  total: number
  /** kill → result, ms (kill samples) */
  killToResult: number
  victim: string
  /** stages, ms (NaN where not applicable) */
  detect: number
  declare: number
  backoff: number
  place: number
  run: number
  report: number
  finalState: string
  finalAttempt: number
}

const SLEEP_TASK = JSON.stringify({ name: 'rel-sleep', command: ['sleep', '2'], retries: 1 })

function pushParams (text: string, tags: string[], waitMs: number, detach: boolean): PushParams {
  return { text, name: 'bench', baseDir: '/tmp', tags, all: false, waitMs, detach, follow: false }
}

async function reschedule (ctx: Ctx, m: LoopMesh, n: number): Promise<RescheduleSample[]> {
  console.log(`\n[reschedule] ${n} × (sleep 2, retries 1: once without a kill, once with its runner killed 0.5 s after it runs)…`)
  const out: RescheduleSample[] = []
  const d = m.dispatcher
  const client = d.client
  for (let i = 0; i < 2 * n; i++) {
    checkInterrupted(ctx)
    const kill = i % 2 === 1
    await sleep(1_000 + Math.random() * 1_000)
    d.log.poll()
    const t0 = Date.now()
    let id = ''
    let killAt = NaN
    let victim: Member | undefined
    let killer: Promise<void> | undefined
    let record: TaskRecord | undefined
    for await (const ev of client.stream<DispatchEvent>('push', pushParams(SLEEP_TASK, [TAG], 60_000, false), { timeoutMs: 180_000 })) {
      if (ev.type === 'submitted') id = ev.id
      else if (ev.type === 'unplaceable') throw new Error(`task ${ev.id} unplaceable: ${ev.reason}`)
      else if (ev.type === 'placed' && kill && (ev.attempt ?? 1) === 1) {
        victim = m.runners.find(r => r.daemon.info.id === ev.runner)
        if (victim == null) throw new Error(`task ${ev.id} placed on ${ev.runnerName}, not a runner of this mesh`)
        const v = victim
        killer = (async () => { await sleep(500); killAt = m.kill(v) })()
      } else if (ev.type === 'result') record = ev.record
    }
    const resultAt = Date.now()
    await killer
    if (record == null) throw new Error(`task ${id}: the push stream ended without a result`)
    const started = Date.parse(record.startedAt ?? '')
    const finished = Date.parse(record.finishedAt ?? '')
    const s: RescheduleSample = {
      kind: kill ? 'kill' : 'baseline',
      id,
      total: resultAt - t0,
      killToResult: kill ? resultAt - killAt : NaN,
      victim: victim?.name ?? '-',
      detect: NaN,
      declare: NaN,
      backoff: NaN,
      place: started - t0,
      run: finished - started,
      report: resultAt - finished,
      finalState: record.state,
      finalAttempt: record.attempt
    }
    if (kill && victim != null) {
      d.log.poll()
      const vid = victim.daemon.info.id
      const dead = d.log.find(killAt, l => l.msg === 'peer dead' && l.peer === vid)
      const declared = d.log.find(killAt, l => l.msg === 'runner declared dead while running the task' && l.task === id)
      const again = d.log.find(killAt, l => l.msg === 'rescheduling a lost task' && l.task === id)
      s.detect = (dead?.at ?? NaN) - killAt
      s.declare = (declared?.at ?? NaN) - (dead?.at ?? NaN)
      s.backoff = (again?.at ?? NaN) - (declared?.at ?? NaN)
      s.place = started - (again?.at ?? NaN)
      if (dead == null || declared == null || again == null) ctx.notes.push(`reschedule sample ${i + 1} (task ${id}): dispatcher log lines missing — peer dead ${dead != null}, declared ${declared != null}, rescheduling ${again != null}`)
      await m.restart(victim)
      await m.waitWhole(90_000)
    }
    out.push(s)
    console.log(`  ${s.kind} ${id}: ${record.state} attempt ${record.attempt}, submit → result ${fmtS(s.total)}${kill ? `; kill (${s.victim}) → result ${fmtS(s.killToResult)} = detect ${fmtS(s.detect)} + declare ${fmtMs(s.declare)} + backoff ${fmtS(s.backoff)} + place ${fmtMs(s.place)} + run ${fmtS(s.run)} + report ${fmtMs(s.report)}` : ''}`)
  }
  return out
}

// ---------------------------------------------------------------- 3. memory

interface MemoryResult {
  n: number
  submitMs: number
  submitted: number
  submitFailures: string[]
  refused: { ok: boolean, message: string, exitCode: number | null }
  queuedSeen: number
  rssBeforeKiB: number
  rssAfterKiB: number
  /** VmRSS right after the forced full GC (NaN when the inspector could not be opened) */
  rssAfterGcKiB: number
  hwmKiB: number
  heapBefore?: MemoryUsage
  heapAfter?: MemoryUsage
  heapProblem?: string
  cpuIdlePct: number
  cpuHoldPct: number
  cpuS: number
}

function statusKiB (pid: number, field: string): number {
  const m = new RegExp(`^${field}:\\s+(\\d+)\\s+kB`, 'm').exec(readProcStatus(pid))
  return m != null ? Number(m[1]) : NaN
}

function readProcStatus (pid: number): string {
  try { return readFileSync(`/proc/${pid}/status`, 'utf8') } catch { return '' }
}

async function cpuPct (pid: number, seconds: number): Promise<number> {
  const hz = clockTicksPerSecond()
  const a = cpuTicks(pid)
  const t0 = performance.now()
  await sleep(seconds * 1000)
  const b = cpuTicks(pid)
  return (b - a) / hz / ((performance.now() - t0) / 1000) * 100
}

async function memory (ctx: Ctx, n: number, cpuS: number): Promise<MemoryResult> {
  console.log(`\n[memory] one daemon, ${n} queued tasks nobody can take…`)
  const home = join(ctx.workdir, 'solo')
  await mkdir(home, { recursive: true, mode: 0o700 })
  // the default maxQueuedTasks is 10,000; a smaller run sets it to n so the refusal is still checked
  const limit = n === DEFAULT_MAX_QUEUED ? {} : { maxQueuedTasks: n }
  await writeFile(join(home, 'config.json'), JSON.stringify({ version: 1, name: 'solo', ...limit }), { mode: 0o600 })
  const logFile = join(home, 'daemon.log')
  ctx.logs.push(logFile)
  const daemon = await startForeground({
    home, args: ['--listen', '/ip4/127.0.0.1/tcp/0', '--no-mdns', '--swarm-key', ctx.swarmKey], env: INSPECTABLE_ENV, logFile, reaper: ctx.reaper, readyTimeoutMs: 90_000
  })
  const pid = daemon.pid
  try {
    const client = clientFor(home)
    await sleep(10_000)
    let url: string | undefined
    let heapProblem: string | undefined
    try { url = await openInspector(pid, logFile) } catch (err) { heapProblem = (err as Error).message }
    const heapBefore = url != null ? await heapAfterGc(url).catch((err: Error) => { heapProblem = err.message; return undefined }) : undefined
    await sleep(2_000)
    const rssBeforeKiB = rssKiB(pid)
    console.log(`  idle: RSS ${fmtNum(rssBeforeKiB / 1024)} MiB, heap used ${fmtNum((heapBefore?.heapUsed ?? NaN) / 2 ** 20)} MiB; CPU over ${cpuS} s…`)
    const cpuIdlePct = await cpuPct(pid, cpuS)
    const text = JSON.stringify({ name: 'held', command: ['true'] })
    const failures: string[] = []
    const t0 = performance.now()
    let done = 0
    await runPool(n, 16, async () => {
      checkInterrupted(ctx)
      try {
        for await (const ev of client.stream<DispatchEvent>('push', pushParams(text, [NOBODY], 3_600_000, true), { timeoutMs: 120_000 })) {
          if (ev.type === 'submitted') done++
        }
      } catch (err) {
        failures.push((err as Error).message)
      }
      if (done % 1000 === 0 && done > 0) process.stdout.write(`  ${done} pushed (${fmtS(performance.now() - t0)})\n`)
    })
    const submitMs = performance.now() - t0
    let refused: MemoryResult['refused']
    try {
      let got = ''
      for await (const ev of client.stream<DispatchEvent>('push', pushParams(text, [NOBODY], 3_600_000, true), { timeoutMs: 60_000 })) {
        if (ev.type === 'submitted') got = ev.id
      }
      refused = { ok: false, message: `accepted as task ${got}`, exitCode: null }
    } catch (err) {
      const e = err as Error & { exitCode?: number }
      refused = { ok: e.exitCode === 3, message: e.message, exitCode: e.exitCode ?? null }
    }
    console.log(`  ${done} pushed in ${fmtS(submitMs)}; push ${n + 1}: ${refused.ok ? 'refused' : 'NOT refused'} (${refused.message})`)
    // placement retries back off to every 5 s within ~8 s: measure after that
    await sleep(15_000)
    console.log(`  holding: CPU over ${cpuS} s…`)
    const cpuHoldPct = await cpuPct(pid, cpuS)
    const rssAfterKiB = rssKiB(pid)
    const hwmKiB = statusKiB(pid, 'VmHWM')
    const heapAfter = url != null ? await heapAfterGc(url).catch((err: Error) => { heapProblem = err.message; return undefined }) : undefined
    const rssAfterGcKiB = heapAfter != null ? rssKiB(pid) : NaN
    const queued = await client.call<TaskRecord[]>('tasks', { state: 'queued', limit: n + 100 }, { timeoutMs: 120_000 }).catch(() => [])
    console.log(`  holding ${queued.length} queued: RSS ${fmtNum(rssAfterKiB / 1024)} MiB (peak ${fmtNum(hwmKiB / 1024)}), heap used ${fmtNum((heapAfter?.heapUsed ?? NaN) / 2 ** 20)} MiB, CPU ${fmtNum(cpuHoldPct)} % (idle ${fmtNum(cpuIdlePct)} %)`)
    return {
      n,
      submitMs,
      submitted: done,
      submitFailures: failures,
      refused,
      queuedSeen: queued.length,
      rssBeforeKiB,
      rssAfterKiB,
      rssAfterGcKiB,
      hwmKiB,
      ...(heapBefore != null ? { heapBefore } : {}),
      ...(heapAfter != null ? { heapAfter } : {}),
      ...(heapProblem != null ? { heapProblem } : {}),
      cpuIdlePct,
      cpuHoldPct,
      cpuS
    }
  } finally {
    await stopGroup(pid, 30_000)
  }
}

// ---------------------------------------------------------------- 4. partition

interface PartitionSample {
  /** heal → host4 holds every final record of the near side's tasks, ms */
  toCut: number
  /** heal → hostK (1..3) holds host4's result, ms */
  fromCut: number[]
  /** heal → everything everywhere, ms */
  all: number
  /** heal → host1 logs host4 'peer alive again', ms */
  aliveAgain: number
  /** finishedAt → held by every host, for tasks pushed while connected, ms */
  gossip: number[]
  nearTasks: number
}

interface PartitionResult {
  skipped?: string
  hosts: number
  cutMs: number
  samples: PartitionSample[]
  failures: string[]
  teardownProblems: string[]
  /** warn-or-worse lines of the lab's daemons (their logs go with the lab) */
  logs: Map<string, number>
}

const settled = (r: TaskRecord | undefined): string => r == null ? 'none' : JSON.stringify([r.state, r.attempt, r.runner, r.exitCode, r.startedAt, r.finishedAt])

class Lab {
  readonly state: NetLabState
  readonly clients: ControlClient[]
  readonly ctx: Ctx
  readonly logs: LogWatch[]

  constructor (ctx: Ctx, state: NetLabState) {
    this.ctx = ctx
    this.state = state
    this.clients = state.hosts.map(h => clientFor(h.home))
    this.logs = state.hosts.map(h => new LogWatch(join(h.home, 'daemon.log')))
  }

  host (k: number): NetHost { return this.state.hosts[k - 1] as NetHost }
  client (k: number): ControlClient { return this.clients[k - 1] as ControlClient }

  async record (k: number, id: string): Promise<TaskRecord | undefined> {
    try {
      const v = await this.client(k).call<TaskRecord[]>('status', { id }, { timeoutMs: 10_000 })
      return v.find(r => r.id === id)
    } catch {
      return undefined
    }
  }

  async submit (k: number, task: Record<string, unknown>, tags: string[]): Promise<string> {
    for await (const ev of this.client(k).stream<DispatchEvent>('push', pushParams(JSON.stringify(task), tags, 120_000, true), { timeoutMs: 60_000 })) {
      if (ev.type === 'submitted') return ev.id
    }
    throw new Error(`host${k}: no task id`)
  }

  async waitFinal (k: number, id: string, timeoutMs: number): Promise<TaskRecord> {
    return until(this.ctx, `task ${id} final on host${k}`, async () => {
      const r = await this.record(k, id)
      return r != null && FINAL_STATES.has(r.state) ? r : undefined
    }, timeoutMs, 100)
  }

  async waitMesh (timeoutMs = 120_000): Promise<void> {
    await until(this.ctx, 'every host to see every other online', async () => {
      for (const h of this.state.hosts) {
        const peers = await this.client(h.index).call<PeerEntry[]>('peers', {}, { timeoutMs: 10_000 })
        for (const o of this.state.hosts) {
          if (o === h) continue
          if (peers.find(p => p.id === o.id)?.state !== 'online') throw new Error(`${h.name} misses ${o.name}`)
        }
      }
      return true
    }, timeoutMs, 500)
  }
}

async function partition (ctx: Ctx, samples: number, cutMs: number): Promise<PartitionResult> {
  const hosts = 4
  const res: PartitionResult = { hosts, cutMs, samples: [], failures: [], teardownProblems: [], logs: new Map() }
  const problem = netnsProblem()
  if (problem != null) {
    res.skipped = problem
    console.log(`\n[partition] skipped: ${problem}`)
    return res
  }
  for (const r of reapStale()) console.error(`reaped a stale lab of an earlier run: ${r.dir}`)
  const dir = await mkdtemp(join(tmpdir(), 'mesh-bench-reliability-netlab-'))
  let down = false
  const tearDown = (): void => {
    if (down) return
    down = true
    process.off('exit', tearDown)
    if (ctx.keep.value && existsSync(dir)) {
      // --keep: the daemon logs of the lab join the kept work dir
      for (const h of readdirSync(dir).filter(x => /^host\d+$/.test(x))) {
        const log = join(dir, h, 'daemon.log')
        if (existsSync(log)) cpSync(log, join(ctx.workdir, `netlab-${h}.log`))
      }
    }
    const runId = readNetState(dir)?.runId
    const report = teardown(dir, runId)
    const left = runId != null ? leftovers(runId) : []
    res.teardownProblems.push(...report.problems, ...left)
    if (report.problems.length > 0 || left.length > 0) console.error(`lab teardown incomplete: ${[...report.problems, ...left].join('; ')}`)
  }
  process.once('exit', tearDown)
  ctx.reaper.onCleanup(tearDown)
  console.log(`\n[partition] a lab of ${hosts} namespace hosts in ${dir}, default timings…`)
  const state = createLab({ dir, hosts, tags: Array.from({ length: hosts }, (_, i) => [`h${i + 1}`]), owner: process.pid, config: {}, logLevel: 'info' })
  try {
    await makeSwarmKey(state, { reaper: ctx.reaper })
    await startAll(state, { reaper: ctx.reaper })
    const lab = new Lab(ctx, state)
    const t0 = performance.now()
    await lab.waitMesh()
    console.log(`  every host sees every other online after ${fmtS(performance.now() - t0)}`)
    const far = lab.host(hosts)
    for (let i = 0; i < samples; i++) {
      checkInterrupted(ctx)
      await lab.waitMesh()
      await sleep(3_000)
      // baseline: results reaching every host by gossip while connected (host1 → h2, h3, h4)
      const gossip: number[] = []
      for (let k = 2; k <= hosts; k++) {
        const id = await lab.submit(1, { name: 'gossip', command: ['true'] }, [`h${k}`])
        const seen: number[] = []
        const rec = await until(ctx, `task ${id} on every host`, async () => {
          const all = await Promise.all(lab.state.hosts.map(async h => lab.record(h.index, id)))
          const now = Date.now()
          all.forEach((r, j) => { if (r != null && FINAL_STATES.has(r.state) && seen[j] == null) seen[j] = now })
          return seen.filter(x => x != null).length === hosts ? all[0] : undefined
        }, 60_000, 50)
        gossip.push(Math.max(...seen) - Date.parse(rec?.finishedAt ?? ''))
      }
      // the cut: host4 runs a task of its own while cut off; host1 runs tasks on host2 and host3
      cutHost(state, far)
      const cutAt = Date.now()
      const farTask = await lab.submit(hosts, { name: 'far', command: ['sleep', '1'] }, [`h${hosts}`])
      const near: string[] = []
      for (let k = 2; k < hosts; k++) near.push(await lab.submit(1, { name: 'near', command: ['sleep', '1'] }, [`h${k}`]))
      const farRec = await lab.waitFinal(hosts, farTask, cutMs)
      const nearRecs = await Promise.all(near.map(async id => lab.waitFinal(1, id, cutMs)))
      const late = [farRec, ...nearRecs].filter(r => r.state !== 'succeeded').map(r => `${r.id} ${r.state} (${r.error ?? ''})`)
      if (late.length > 0) res.failures.push(`cut ${i + 1}: ${late.join('; ')}`)
      const wait = cutAt + cutMs - Date.now()
      if (wait < 0) res.failures.push(`cut ${i + 1}: the tasks took ${fmtS(-wait)} longer than the cut`)
      await sleep(Math.max(0, wait))
      for (const l of lab.logs) l.poll()
      healHost(state, far)
      const healAt = Date.now()
      const firstAt: number[] = Array.from({ length: hosts }, () => NaN)
      const want = new Map<string, string>([[farTask, settled(farRec)], ...nearRecs.map(r => [r.id, settled(r)] as [string, string])])
      await until(ctx, 'every host to hold every final record after the heal', async () => {
        await Promise.all(lab.state.hosts.map(async h => {
          if (Number.isFinite(firstAt[h.index - 1])) return
          const ids = h === far ? near : [farTask]
          const recs = await Promise.all(ids.map(async id => lab.record(h.index, id)))
          if (recs.every((r, j) => settled(r) === want.get(ids[j] as string))) firstAt[h.index - 1] = Date.now()
        }))
        return firstAt.every(Number.isFinite) ? true : undefined
      }, 180_000, 100)
      const h1 = lab.logs[0] as LogWatch
      const alive = await h1.waitFor(healAt, l => l.msg === 'peer alive again' && l.peer === far.id, 5_000)
      const s: PartitionSample = {
        toCut: (firstAt[hosts - 1] as number) - healAt,
        fromCut: firstAt.slice(0, hosts - 1).map(x => x - healAt),
        all: Math.max(...firstAt) - healAt,
        aliveAgain: (alive?.at ?? NaN) - healAt,
        gossip,
        nearTasks: near.length
      }
      res.samples.push(s)
      console.log(`  cut ${i + 1}/${samples}: after the heal host4 held the near side's ${near.length} results after ${fmtS(s.toCut)}; hosts 1–3 held host4's after ${s.fromCut.map(fmtS).join(', ')}; host1 heard host4 again after ${fmtS(s.aliveAgain)}; gossip while connected ${gossip.map(fmtMs).join(', ')}`)
    }
  } finally {
    res.logs = warnings(state.hosts.map(h => join(h.home, 'daemon.log')))
    tearDown()
  }
  return res
}

// ---------------------------------------------------------------- report

interface Results {
  facts: MachineFacts
  argv: string[]
  load: { start: number[], end: number[] }
  detection?: DetectionResult
  reschedule?: RescheduleSample[]
  memory?: MemoryResult
  partition?: PartitionResult
  notes: string[]
  logs: Map<string, number>
  durationMs: number
}

function statRow (what: string, xs: number[], extra: string[] = []): string[] {
  const s: Summary = summarize(xs.filter(Number.isFinite))
  return [what, String(s.n), fmtS(s.median), fmtS(s.p95), fmtS(s.min), fmtS(s.max), fmtS(s.spread), ...extra]
}

const ratio = (a: number, b: number): string => Number.isFinite(a / b) ? `${fmtNum(a / b, a / b >= 10 ? 0 : 1)}×` : '-'
const mib = (bytes: number): string => `${fmtNum(bytes / 2 ** 20)} MiB`

function renderDetection (r: DetectionResult): string {
  const s = r.samples
  const disp = s.map(x => x.dispatcher)
  const sil = s.map(x => x.silence)
  const silMed = median(sil.filter(Number.isFinite))
  const rows = [
    statRow('`peer dead` at the dispatcher (detector, defaults)', disp, [ratio(median(disp), silMed)]),
    statRow('`peer dead` at the other runner (detector, defaults)', s.map(x => x.otherRunner), [ratio(median(s.map(x => x.otherRunner)), silMed)]),
    statRow('**baseline**: heartbeat silence only — shown `offline` (lastSeen + offlineAfterMs)', sil, ['1.0×']),
    statRow('baseline, as polled (`peers` every 100 ms over the control socket)', s.map(x => x.silencePolled), [ratio(median(s.map(x => x.silencePolled)), silMed)])
  ]
  const reasons = new Map<string, number>()
  for (const x of s) {
    const k = x.dispatcherReason.replace(/12D3KooW[1-9A-HJ-NP-Za-km-z]+/g, 'PEER').replace(/:\d{2,5}\b/g, ':PORT').slice(0, 160)
    reasons.set(k, (reasons.get(k) ?? 0) + 1)
  }
  const slow = s.filter(x => x.dispatcher > DEFAULTS.probeIntervalMs * DEFAULTS.probeFailures + 1_000)
  return `### 1. Failure detection: a runner's daemon SIGKILLed

A loopback mesh of 4 daemons: the dispatcher (no tags), a second observer, and two runners tagged
\`${TAG}\` (the runners bootstrap to the dispatcher and the observer, so each holds a direct connection to
them). Per sample, after a random 2–${fmtS(2_000 + DEFAULTS.heartbeatMs)} (so the kill lands at a random phase of the ${fmtS(DEFAULTS.heartbeatMs)} heartbeat), one
runner (alternately) is killed with SIGKILL to its process group; *detected* = the \`time\` of the first
\`peer dead\` log line (component \`liveness\`) naming it, minus the kill. Then it is restarted on the same
home and the next sample waits until every daemon sees it online and the dispatcher's detector calls it
alive again. Every daemon runs the default timings (heartbeat ${DEFAULTS.heartbeatMs / 1000} s, suspectAfterMs ${DEFAULTS.suspectAfterMs / 1000} s,
probes every ${DEFAULTS.probeIntervalMs / 1000} s with a ${DEFAULTS.probeTimeoutMs / 1000} s timeout, ${DEFAULTS.probeFailures} failures, offlineAfterMs ${DEFAULTS.offlineAfterMs / 1000} s).

**Baseline, at the same kills:** the second observer runs the defaults except \`probeFailures: 100\`, so its
detector cannot declare anyone dead within ≈ 100 s and only heartbeat silence counts: its peer table
shows the killed peer \`offline\` once \`offlineAfterMs\` passed since the last heartbeat it heard. That
moment is \`lastSeen + offlineAfterMs\` (\`lastSeen\` as \`peers\` reports it, ms resolution); the polled row
confirms it with the first poll that showed \`offline\`. This is what the mesh would do without the
failure detector.

${mdTable(['what', 'samples', 'median', 'p95', 'min', 'max', 'spread (max − min)', 'median ÷ baseline'], rows)}

**A killed runner is declared dead ${ratio(silMed, median(disp))} sooner than heartbeat silence alone would show it offline**
(median ${fmtS(median(disp))} vs ${fmtS(silMed)}). The detector's figure is close to (probeFailures − 1) × probeIntervalMs
= ${fmtS((DEFAULTS.probeFailures - 1) * DEFAULTS.probeIntervalMs)}: the kernel closes the killed daemon's connections at once, the closed connection makes it a
suspect, and the probes (redials) are refused; silence needs ${fmtS(DEFAULTS.offlineAfterMs)} minus the time since the last heartbeat
(0–${fmtS(DEFAULTS.heartbeatMs)}). ${slow.length > 0 ? `${slow.length} of ${s.length} samples at the dispatcher took longer than ${fmtS(DEFAULTS.probeIntervalMs * DEFAULTS.probeFailures + 1_000)} (see every kill below).` : 'No sample at the dispatcher took longer than ' + fmtS(DEFAULTS.probeIntervalMs * DEFAULTS.probeFailures + 1_000) + '.'}
Why the dispatcher declared the peer dead: ${[...reasons].map(([k, v]) => `${v} × "${k}"`).join('; ')}.

<details><summary>every kill: victim — dispatcher / other runner / silence only (polled); restart → ready</summary>

${s.map((x, i) => `- ${i + 1}. ${x.victim} — ${fmtS(x.dispatcher)} / ${fmtS(x.otherRunner)} / ${fmtS(x.silence)} (${fmtS(x.silencePolled)}, its detector: ${x.silenceLiveness}); restart ${fmtS(x.restartMs)}`).join('\n')}

</details>`
}

function renderReschedule (xs: RescheduleSample[]): string {
  const base = xs.filter(x => x.kind === 'baseline')
  const kill = xs.filter(x => x.kind === 'kill')
  const k2r = kill.map(x => x.killToResult)
  const baseMed = median(base.map(x => x.total))
  const ok = kill.filter(x => x.finalState === 'succeeded' && x.finalAttempt === 2).length
  const rows = [
    statRow('**baseline**: `sleep 2`, no kill — submit → result', base.map(x => x.total), ['1.0×']),
    statRow('runner killed — submit → result', kill.map(x => x.total), [ratio(median(kill.map(x => x.total)), baseMed)]),
    statRow('runner killed — **kill → result**', k2r, [ratio(median(k2r), baseMed)])
  ]
  const stage = (what: string, vals: number[], note: string): string[] => {
    const s = summarize(vals.filter(Number.isFinite))
    // sub-second stages in ms: "0.00 s" would hide them
    const f = (ms: number): string => ms < 1_000 ? fmtMs(ms) : fmtS(ms)
    return [what, f(s.median), f(s.min), f(s.max), note]
  }
  const stages = [
    stage('detection: kill → `peer dead`', kill.map(x => x.detect), 'the failure detector (part 1)'),
    stage('→ `runner declared dead while running the task`', kill.map(x => x.declare), 'the dispatcher hears of it, signs `lost` for attempt 1'),
    stage('→ `rescheduling a lost task` (attempt 2 queued)', kill.map(x => x.backoff), `backoff ${DEFAULTS.retryBaseMs / 1000} s ± 20 %, then persist and publish \`queued\``),
    stage('→ attempt 2 `startedAt` on the other runner', kill.map(x => x.place), 'placement, offer, reserve, spawn'),
    stage('→ `finishedAt`', kill.map(x => x.run), 'the task itself'),
    stage('→ result at the caller', kill.map(x => x.report), 'record signed, gossiped, stored, streamed'),
    stage('**kill → result**', k2r, 'the sum')
  ]
  const baseStages = [
    stage('submit → `startedAt`', base.map(x => x.place), 'submit, placement, offer, spawn'),
    stage('→ `finishedAt`', base.map(x => x.run), 'the task itself'),
    stage('→ result at the caller', base.map(x => x.report), 'record back at the dispatcher')
  ]
  const overhead = median(k2r) - median(kill.map(x => x.run))
  return `### 2. Kill → the rescheduled task's result

Same mesh. A task \`{"command": ["sleep", "2"], "retries": 1}\` with tag \`${TAG}\` (both runners hold it) is pushed
over the dispatcher's control socket as \`mesh push\` does (no output streaming); 0.5 s after the \`placed\`
event (the runner answers once the task runs) the runner holding it is SIGKILLed (its daemon's process
group: the task, in its own group, lives on, as after a real crash). *Result* = the \`result\` event, which the
dispatcher sends only when the task ended for good: here \`succeeded\`, attempt 2, on the other runner
(${ok} of ${kill.length}). The killed runner is restarted before the next sample. **Baseline**, alternating with the
killed runs: the same task, no kill. Stages come from the dispatcher's log line times and the attempt-2
record's \`startedAt\`/\`finishedAt\` (one clock: one machine).

${mdTable(['what', 'samples', 'median', 'p95', 'min', 'max', 'spread (max − min)', 'median ÷ baseline'], rows)}

Where the time from the kill goes (killed runs):

${mdTable(['stage', 'median', 'min', 'max', 'what'], stages)}

Without a kill (baseline):

${mdTable(['stage', 'median', 'min', 'max', 'what'], baseStages)}

**From the kill, the result arrives after ${fmtS(median(k2r))} (median), ${ratio(median(k2r), baseMed)} the whole run of the task without a failure
(${fmtS(baseMed)})**; beyond the 2 s the second run itself needs, the failure costs ${fmtS(overhead)}: detection plus the 1 s retry backoff,
with placement and reporting in the tens of milliseconds.`
}

function renderMemory (r: MemoryResult): string {
  const kib = (x: number): number => x * 1024
  const rssD = kib(r.rssAfterKiB - r.rssBeforeKiB)
  const hb = r.heapBefore
  const ha = r.heapAfter
  const rows: string[][] = [
    ['resident memory (VmRSS)', mib(kib(r.rssBeforeKiB)), mib(kib(r.rssAfterKiB)), mib(rssD), `${fmtNum(rssD / r.n / 1024, 2)} KiB`]
  ]
  if (Number.isFinite(r.rssAfterGcKiB)) {
    const d = kib(r.rssAfterGcKiB - r.rssBeforeKiB)
    rows.push(['VmRSS right after the full GC', mib(kib(r.rssBeforeKiB)), mib(kib(r.rssAfterGcKiB)), mib(d), `${fmtNum(d / r.n / 1024, 2)} KiB`])
  }
  if (hb != null && ha != null) {
    rows.push(['V8 heap used, after a full GC', mib(hb.heapUsed), mib(ha.heapUsed), mib(ha.heapUsed - hb.heapUsed), `${fmtNum((ha.heapUsed - hb.heapUsed) / r.n / 1024, 2)} KiB`])
    rows.push(['V8 heap reserved (heapTotal)', mib(hb.heapTotal), mib(ha.heapTotal), mib(ha.heapTotal - hb.heapTotal), '-'])
    rows.push(['external + array buffers', mib(hb.external + hb.arrayBuffers), mib(ha.external + ha.arrayBuffers), mib(ha.external + ha.arrayBuffers - hb.external - hb.arrayBuffers), '-'])
  }
  rows.push([`CPU over ${r.cpuS} s, % of one core`, `${fmtNum(r.cpuIdlePct, 2)} %`, `${fmtNum(r.cpuHoldPct, 2)} %`, `${fmtNum(r.cpuHoldPct - r.cpuIdlePct, 2)} %`, '-'])
  return `### 3. Memory and CPU of a daemon holding ${r.n.toLocaleString('en-US')} queued tasks

One daemon alone (default config${r.n === DEFAULT_MAX_QUEUED ? ', so `maxQueuedTasks` is 10,000' : `, except \`maxQueuedTasks: ${r.n}\``}). ${r.n.toLocaleString('en-US')} tasks \`{"command": ["true"]}\` with a tag
nobody has and a wait of 3,600 s are pushed over its control socket from this process (\`--detach\`, 16 at a
time): each is staged, persisted in the queue, announced with a signed \`queued\` record, and retried by
placement every 0.5 s backing off to 5 s. *Idle* is measured after 10 s of settling, *holding* 15 s after the
last push (all retries backed off); CPU is utime+stime from \`/proc/PID/stat\` over ${r.cpuS} s each. The heap
figures come from the daemon's own inspector (SIGUSR1 with \`--inspect-port=127.0.0.1:0\`, opened before the
idle figures, so both include it): \`process.memoryUsage()\` right after \`HeapProfiler.collectGarbage\`.${r.heapProblem != null ? ` (Heap not measured: ${r.heapProblem}.)` : ''}

${mdTable(['', 'idle', `holding ${r.n.toLocaleString('en-US')}`, 'difference', 'per task'], rows)}

Pushing them took ${fmtS(r.submitMs)} (${fmtNum(r.submitted / (r.submitMs / 1000), 0)} tasks/s)${r.submitFailures.length > 0 ? `, ${r.submitFailures.length} pushes failed (see notes)` : ''}; the daemon then listed
${r.queuedSeen.toLocaleString('en-US')} tasks \`queued\`; peak RSS (VmHWM) ${mib(kib(r.hwmKiB))}.
${hb != null && ha != null
    ? `The first RSS row was read before the forced GC, the heap rows after it. RSS grew ${ratio(rssD, ha.heapUsed - hb.heapUsed)} as much as the
live heap: the rest is memory the process holds that is not live JavaScript objects — garbage of the push burst not
collected yet, heap pages and malloc arenas not returned to the system, LevelDB's native buffers. The live cost of a
queued task is the heap figure; the RSS figure is what the machine pays.${Number.isFinite(r.rssAfterGcKiB) ? '' : ' (This run did not read RSS after the GC, so it does not separate the two.)'}
`
    : ''}**Push ${(r.n + 1).toLocaleString('en-US')}: ${r.refused.ok ? `refused at once, exit ${r.refused.exitCode ?? '?'}` : `NOT refused as expected (exit ${r.refused.exitCode ?? '-'})`}** — "${r.refused.message}".`
}

function renderPartition (r: PartitionResult): string {
  const head = `### 4. Catch-up after a ${fmtS(r.cutMs)} partition`
  if (r.skipped != null) return `${head}\n\nSkipped: ${r.skipped} (the namespace lab needs root and \`ip netns\`; see docs/lab.md).`
  const s = r.samples
  const gossip = s.flatMap(x => x.gossip)
  const gMed = median(gossip)
  const rows = [
    statRow('**baseline**: a result while connected, `finishedAt` → held by every host (gossip)', gossip, ['1.0×']),
    statRow('heal → host1 logs host4 `peer alive again`', s.map(x => x.aliveAgain), [ratio(median(s.map(x => x.aliveAgain)), gMed)]),
    statRow(`heal → host4 holds the near side's ${s[0]?.nearTasks ?? '?'} results`, s.map(x => x.toCut), [ratio(median(s.map(x => x.toCut)), gMed)]),
    statRow('heal → host1, host2, host3 each hold host4\'s result (one sample per host)', s.flatMap(x => x.fromCut), [ratio(median(s.flatMap(x => x.fromCut)), gMed)]),
    statRow('**heal → every host holds every final record**', s.map(x => x.all), [ratio(median(s.map(x => x.all)), gMed)])
  ]
  return `${head}

A lab of ${r.hosts} hosts (network namespaces on one bridge, each its own daemon, IP and home; tags \`h1\`…\`h${r.hosts}\`),
default timings. Per sample: first the baseline — host1 pushes \`true\` to h2, h3 and h4 one by one while
everything is connected, and every host's store is polled (status over each control socket, every 50 ms)
until all ${r.hosts} hold the final record. Then host${r.hosts}'s cable is cut (\`ip link set <veth> down\`), and during the
cut host${r.hosts} runs a task of its own (\`sleep 1\`, pushed on host${r.hosts} with tag h${r.hosts}) while host1 runs \`sleep 1\` on host2 and
on host3; all three finish during the cut, so gossip cannot deliver them across it. ${fmtS(r.cutMs)} after the cut the
link is healed; every host is polled every 100 ms until host${r.hosts} holds the near side's final records and
hosts 1–${r.hosts - 1} hold host${r.hosts}'s, each identical (state, attempt, runner, exit code, times) to the signer's own.
${s.length} cuts.

${mdTable(['what', 'samples', 'median', 'p95', 'min', 'max', 'spread (max − min)', 'median ÷ baseline'], rows)}

**After ${fmtS(r.cutMs)} apart, every host holds every record ${fmtS(median(s.map(x => x.all)))} (median) after the link is back**, against
${fmtMs(gMed)} for a result to reach every host by gossip while connected. A partition this short leaves the
TCP connections open, so nothing has to redial: the next heartbeat across the healed link tells each
side's detector the other is alive again (it had declared it dead during the cut), which starts a catch-up
session about a second later (docs/reliability.md, *Catch-up*); the polling adds up to 100 ms.`
}

function interpretation (r: Results): string {
  const lines: string[] = []
  if (r.detection != null) {
    const d = median(r.detection.samples.map(x => x.dispatcher))
    const b = median(r.detection.samples.map(x => x.silence))
    lines.push(`- A crashed runner is known dead at its dispatcher in ${fmtS(d)} (median), against ${fmtS(b)} for heartbeat silence alone, with the defaults; a silent host (partition, power loss) still needs ≈ 11 s (docs/reliability.md).`)
  }
  if (r.reschedule != null) {
    const k = r.reschedule.filter(x => x.kind === 'kill')
    const b = r.reschedule.filter(x => x.kind === 'baseline')
    lines.push(`- A task whose runner crashes mid-run finishes elsewhere ${fmtS(median(k.map(x => x.killToResult)))} after the crash: detection (${fmtS(median(k.map(x => x.detect)))}) + the first retry backoff (${fmtS(median(k.map(x => x.backoff)))}) + a fresh run; the same task without a crash takes ${fmtS(median(b.map(x => x.total)))} end to end.`)
  }
  if (r.memory != null) {
    const m = r.memory
    lines.push(`- ${m.n.toLocaleString('en-US')} queued tasks cost ${fmtNum((m.rssAfterKiB - m.rssBeforeKiB) / 1024, 0)} MiB of RSS (${fmtNum((m.rssAfterKiB - m.rssBeforeKiB) / m.n, 1)} KiB a task${m.heapAfter != null && m.heapBefore != null ? `, ${fmtNum((m.heapAfter.heapUsed - m.heapBefore.heapUsed) / m.n / 1024, 1)} KiB of live heap` : ''}) and ${fmtNum(m.cpuHoldPct, 1)} % of a core to hold (idle: ${fmtNum(m.cpuIdlePct, 1)} %); the limit refuses the next push${m.refused.ok ? '' : ' — **it did not in this run**'}.`)
  }
  if (r.partition != null && r.partition.skipped == null) {
    lines.push(`- After a ${fmtS(r.partition.cutMs)} partition the cut-off host and the rest agree on every record ${fmtS(median(r.partition.samples.map(x => x.all)))} after the heal (gossip alone, which does not replay missed messages, would never deliver them).`)
  }
  return `### What it means\n\n${lines.join('\n')}`
}

function render (r: Results): string {
  const f = r.facts
  const la = (x: number[]): string => x.map(v => v.toFixed(2)).join(' ')
  const busy = Math.max(...r.load.start, ...r.load.end) > f.nproc
  const parts = [`## Failure detection, rescheduling, queued-task memory, catch-up (\`npm run bench:reliability\`)

Run ${f.date.replace(/\.\d+Z$/, 'Z')} on ${f.nproc} cores (${f.cpuModel}), ${fmtNum(f.memTotalGiB)} GiB RAM, Node ${f.node},
Linux ${f.kernel}; code measured: ${MESH_MAIN === BUILT_MAIN ? `this checkout, commit ${f.commit}` : `\`MESH_MAIN=${MESH_MAIN}\``}; ${fmtS(r.durationMs)} in all.
Arguments: \`${r.argv.length > 0 ? r.argv.join(' ') : '(defaults)'}\`. Load average (1/5/15 min) at the start ${la(r.load.start)}, at the end
${la(r.load.end)}${busy ? ': **the machine was busy with other work** (more runnable processes than cores), which stretches every time here, most of all process start-up' : ''}.
**Every daemon runs the default timings** (heartbeat ${DEFAULTS.heartbeatMs / 1000} s, offline after ${DEFAULTS.offlineAfterMs / 1000} s, detector ${DEFAULTS.suspectAfterMs / 1000} s /
${DEFAULTS.probeIntervalMs / 1000} s / ${DEFAULTS.probeTimeoutMs / 1000} s / ${DEFAULTS.probeFailures}, retry backoff from ${DEFAULTS.retryBaseMs / 1000} s), except where a baseline says otherwise: the figures are for the defaults.`]
  if (r.detection != null) parts.push(renderDetection(r.detection))
  if (r.reschedule != null) parts.push(renderReschedule(r.reschedule))
  if (r.memory != null) parts.push(renderMemory(r.memory))
  if (r.partition != null) parts.push(renderPartition(r.partition))
  parts.push(interpretation(r))
  const notes = r.notes.map(n => `- ${n}`)
  if (r.logs.size > 0) {
    notes.push('- daemon log lines at warn or above, over every daemon of the run (a killed or cut-off peer makes some expected):')
    for (const [k, n] of [...r.logs].sort((a, b) => b[1] - a[1]).slice(0, 15)) notes.push(`  - ${n} × ${k}`)
  }
  parts.push(`### Notes\n\n${notes.length > 0 ? notes.join('\n') : '- nothing unusual.'}`)
  return parts.join('\n\n')
}

// ---------------------------------------------------------------- main

async function main (argv: string[]): Promise<number> {
  const start = await benchStart('bench:reliability', argv, parse, HELP)
  if (typeof start === 'number') return start
  const { opts, reaper, workdir, started } = start
  const ctx: Ctx = { workdir, swarmKey: join(workdir, 'swarm.key'), reaper, notes: [], logs: [], keep: start.keep }
  const facts = machineFacts(REPO_ROOT)
  const loadStart = loadavg()
  console.log(`bench:reliability: ${facts.nproc} cores, Node ${facts.node}, load ${loadStart.map(x => x.toFixed(2)).join(' ')}; work dir ${workdir}`)
  let loop: LoopMesh | undefined
  try {
    const key = await mesh(['swarm-key', '--out', ctx.swarmKey], { reaper })
    if (key.code !== 0) throw new Error(`mesh swarm-key failed: ${key.stderr.trim()}`)
    const results: Results = { facts, argv, load: { start: loadStart, end: [] }, notes: ctx.notes, logs: new Map(), durationMs: 0 }
    if (opts.only.has('detection') || opts.only.has('reschedule')) {
      loop = new LoopMesh(ctx)
      await loop.up()
      if (opts.only.has('detection')) results.detection = await detection(ctx, loop, opts.samples)
      if (opts.only.has('reschedule')) results.reschedule = await reschedule(ctx, loop, opts.reschedule)
      await loop.down()
      loop = undefined
    }
    if (opts.only.has('memory')) results.memory = await memory(ctx, opts.queued, opts.cpuS)
    if (opts.only.has('partition')) results.partition = await partition(ctx, opts.partitions, opts.cutS * 1000)
    results.load.end = loadavg()

    // the inspector's banner (part 3) is not JSON: warnings() would count it as an error
    results.logs = new Map([...warnings(ctx.logs)].filter(([k]) => !/^error \?: (Debugger |For help, see)/.test(k)))
    for (const [k, n] of results.partition?.logs ?? []) results.logs.set(`${k} [lab]`, n)
    for (const f of results.detection?.failures ?? []) ctx.notes.push(f)
    for (const f of results.partition?.failures ?? []) ctx.notes.push(`partition: ${f}`)
    for (const p of results.partition?.teardownProblems ?? []) ctx.notes.push(`lab teardown: ${p}`)
    const mem = results.memory
    if (mem != null && mem.submitFailures.length > 0) ctx.notes.push(`memory: ${mem.submitFailures.length} pushes failed, e.g. ${mem.submitFailures[0]?.slice(0, 300) ?? ''}`)
    const bad = results.reschedule?.filter(x => x.finalState !== 'succeeded' || (x.kind === 'kill' && x.finalAttempt !== 2)) ?? []
    for (const x of bad) ctx.notes.push(`reschedule: task ${x.id} (${x.kind}) ended ${x.finalState}, attempt ${x.finalAttempt}`)
    results.durationMs = performance.now() - started
    checkInterrupted(ctx)
    const section = render(results)
    await publishSection(opts, SECTION, section, facts)
    return 0
  } catch (err) {
    return await benchFailed('bench:reliability', start, err, { interrupted: err instanceof Interrupted })
  } finally {
    if (!reaper.interrupted) {
      await loop?.down()
      await reaper.cleanup()
    }
  }
}

process.exitCode = await main(process.argv.slice(2))
