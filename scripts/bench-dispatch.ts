/**
 * Dispatch benchmark with real daemons (separate processes, 127.0.0.1 only, a swarm key, default
 * settings): a mesh of one dispatcher and N runners tagged `bench`, measured side by side with the
 * local and ssh equivalents in one run:
 *
 *   1. latency — one no-op task (`true`) pushed to a pinned runner, push → result at the dispatcher,
 *      in-process through the control socket (as `mesh push` does), against
 *      `child_process.spawn('true')` → exit; the two alternate. Also where the time goes (stages
 *      from the result record's timestamps) and CPU per task of each daemon.
 *   2. cli — whole processes: `mesh push --target B --json -- true` against `ssh … true` to an sshd
 *      started here on a loopback port, plain and over a ControlMaster connection, and `node -e 0`.
 *   3. throughput — M no-op tasks with tag `bench`, C in flight, spread over the runners, against
 *      `true` spawned from Node with the same concurrency; rounds alternate, and every mesh round
 *      runs on a freshly started mesh, so one round's leftovers cannot slow the next.
 *
 * Rewrites the section between <!-- bench:dispatch:start --> and <!-- bench:dispatch:end --> of
 * BENCHMARKS.md (creating the file if needed).
 */
import { spawn } from 'node:child_process'
import { existsSync, readdirSync } from 'node:fs'
import { mkdir, writeFile } from 'node:fs/promises'
import { availableParallelism, loadavg } from 'node:os'
import { join, resolve } from 'node:path'
import { performance } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import { parseArgs } from 'node:util'
import { createControlClient } from '../src/node/control/index.js'
import { monotonicUs, summarizeProfile } from './lib/cpuprofile.js'
import { warnings } from './lib/daemon-logs.js'
import { runPool } from './lib/pool.js'
import { benchFailed, benchStart } from './lib/bench-main.js'
import { BUILT_MAIN, MESH_MAIN, NODE, REPO_ROOT, mesh, run, startForeground, stopGroup } from './lib/proc.js'
import { clockTicksPerSecond, cpuTicks, machineFacts } from './lib/procfs.js'
import { defaultTimings, fmtMs, fmtNum, fmtS, mdTable, publishSection } from './lib/report.js'
import { median, summarize } from './lib/stats.js'
import { sshProblem, startSshMaster, startSshd } from './lib/sshd.js'
import { whole } from './lib/args.js'
import type { ControlClient } from '../src/node/control/index.js'
import type { PushParams } from '../src/node/api.js'
import type { DispatchEvent } from '../src/node/dispatch/index.js'
import type { PeerEntry } from '../src/node/views.js'
import type { TaskRecord } from '../src/protocols/results/index.js'
import type { ProfileSummary } from './lib/cpuprofile.js'
import type { Reaper } from './lib/proc.js'
import type { ForegroundDaemon, RunResult } from './lib/proc.js'
import type { MachineFacts } from './lib/procfs.js'
import type { SshMaster, Sshd } from './lib/sshd.js'
import type { Summary } from './lib/stats.js'

const SECTION = 'bench:dispatch'
const TAG = 'bench'
/** a remote no-op slower than this (median) gets a note: worth a profile */
const SLOW_REMOTE_MS = 20

const HELP = `Usage: npm run bench:dispatch -- [options]

Starts a mesh of real daemons on 127.0.0.1 (a dispatcher and --runners runners tagged '${TAG}'),
and an sshd on a free loopback port, and measures in one run:
  1. latency: a no-op task pushed to one runner (push → result, in-process over the control
     socket) vs child_process.spawn('true') → exit, alternating; stages and CPU per task
  2. cli: 'mesh push --target B --json -- true' (whole process) vs 'ssh -p PORT root@127.0.0.1 true',
     plain and over a ControlMaster connection, and 'node -e 0'
  3. throughput: no-op tasks with tag ${TAG}, --concurrency in flight, vs local spawns of 'true'
     (each mesh round on a freshly started mesh)
then rewrites the bench:dispatch section of BENCHMARKS.md. About 15 minutes with the defaults.

Options:
  --latency-tasks 200   measured tasks of part 1 (and as many local spawns)
  --warmup 10           unmeasured tasks (and spawns) first
  --cli-runs 50         runs of each command in part 2 (after 2 unmeasured each)
  --tasks 300           tasks per throughput round (and as many local spawns)
  --concurrency 8,6     tasks in flight in part 3; one series per value (6 = the runners' cores)
  --rounds 3            throughput rounds per value (each: local and mesh; the order alternates)
  --runners 3           runner daemons
  --only LIST           run only some of: latency,cli,throughput
  --open                no swarm key: an open mesh, as the README's \`npm start\` runs
  --cpu-prof            run the daemons with --cpu-prof; the report adds where their CPU went
                        (skews the figures; combine with --no-write)
  --out FILE            report file (default BENCHMARKS.md in the repository)
  --no-write            print the report, do not touch the file
  --keep                keep homes, logs and profiles (in a temp folder) afterwards
  -h, --help            this text

Without /usr/sbin/sshd (apt-get install -y openssh-server) the ssh rows are skipped with a note.
Every daemon, sshd and ssh master runs in its own process group and is stopped at the end, on
failure and on Ctrl-C. MESH_LOG_LEVEL=debug gives the daemons' debug logs (costs CPU).
Set MESH_MAIN=/path/to/dist/src/cli/main.js to measure another build.`

type Phase = 'latency' | 'cli' | 'throughput'
const PHASES: readonly Phase[] = ['latency', 'cli', 'throughput']

interface Options {
  latencyTasks: number
  warmup: number
  cliRuns: number
  tasks: number
  concurrency: number[]
  rounds: number
  runners: number
  only: Set<Phase>
  /** no swarm key */
  open: boolean
  cpuProf: boolean
  out: string
  write: boolean
  keep: boolean
}

function parse (argv: string[]): Options | 'help' {
  const { values } = parseArgs({
    args: argv,
    options: {
      'latency-tasks': { type: 'string', default: '200' },
      warmup: { type: 'string', default: '10' },
      'cli-runs': { type: 'string', default: '50' },
      tasks: { type: 'string', default: '300' },
      concurrency: { type: 'string', default: '8,6' },
      rounds: { type: 'string', default: '3' },
      runners: { type: 'string', default: '3' },
      only: { type: 'string', default: PHASES.join(',') },
      open: { type: 'boolean', default: false },
      'cpu-prof': { type: 'boolean', default: false },
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
    latencyTasks: whole('--latency-tasks', values['latency-tasks'], 1),
    warmup: whole('--warmup', values.warmup, 0),
    cliRuns: whole('--cli-runs', values['cli-runs'], 1),
    tasks: whole('--tasks', values.tasks, 1),
    concurrency: values.concurrency.split(',').map(x => whole('--concurrency', x.trim(), 1)),
    rounds: whole('--rounds', values.rounds, 1),
    runners: whole('--runners', values.runners, 1),
    only,
    open: values.open,
    cpuProf: values['cpu-prof'],
    out: resolve(values.out),
    write: !values['no-write'],
    keep: values.keep || values['cpu-prof']
  }
}

interface Ctx {
  workdir: string
  /** undefined: an open mesh */
  swarmKey?: string
  reaper: Reaper
  cpuProf: boolean
  notes: string[]
}

/** thrown by the measuring loops once Ctrl-C (or SIGTERM) arrived: the Reaper is already cleaning up */
class Interrupted extends Error {}

function checkInterrupted (ctx: Ctx): void {
  if (ctx.reaper.interrupted) throw new Interrupted('interrupted')
}

// ---------------------------------------------------------------- the mesh

interface Member {
  name: string
  role: 'dispatcher' | 'runner'
  daemon: ForegroundDaemon
}

class DispatchMesh {
  readonly members: Member[] = []
  private readonly ctx: Ctx
  /** folder-name prefix of this mesh's homes: several meshes run one after the other */
  readonly label: string

  constructor (ctx: Ctx, label: string) {
    this.ctx = ctx
    this.label = label
  }

  get dispatcher (): Member { return this.members[0] as Member }
  get runners (): Member[] { return this.members.slice(1) }

  client (): ControlClient {
    const home = this.dispatcher.daemon.home
    return createControlClient({ path: join(home, 'mesh.sock'), home })
  }

  private async spawn (name: string, role: Member['role'], tags: string[], bootstrap: string[]): Promise<Member> {
    const home = join(this.ctx.workdir, `${this.label}-${name}`)
    await mkdir(home, { recursive: true, mode: 0o700 })
    await writeFile(join(home, 'config.json'), JSON.stringify({ version: 1, name }), { mode: 0o600 })
    const args = ['--listen', '/ip4/127.0.0.1/tcp/0', '--no-mdns', ...(this.ctx.swarmKey != null ? ['--swarm-key', this.ctx.swarmKey] : [])]
    if (tags.length > 0) args.push('--tags', tags.join(','))
    for (const b of bootstrap) args.push('--bootstrap', b)
    const env: NodeJS.ProcessEnv = {}
    if (this.ctx.cpuProf) {
      const dir = this.profDir(name)
      await mkdir(dir, { recursive: true })
      env.NODE_OPTIONS = `${process.env.NODE_OPTIONS ?? ''} --cpu-prof --cpu-prof-dir=${dir}`.trim()
    }
    const daemon = await startForeground({ home, args, env, logFile: join(home, 'daemon.log'), reaper: this.ctx.reaper, readyTimeoutMs: 90_000 })
    const m: Member = { name, role, daemon }
    this.members.push(m)
    return m
  }

  profDir (name: string): string {
    return join(this.ctx.workdir, 'prof', `${this.label}-${name}`)
  }

  async up (runners: number): Promise<void> {
    process.stdout.write(`[mesh ${this.label}] starting the dispatcher`)
    const d = await this.spawn('dispatcher', 'dispatcher', [], [])
    for (let i = 1; i <= runners; i++) {
      process.stdout.write(`, runner${i}`)
      await this.spawn(`runner${i}`, 'runner', [TAG], [d.daemon.addr])
    }
    process.stdout.write('\n')
    const started = performance.now()
    const client = this.client()
    let seen = 0
    while (performance.now() - started < 90_000) {
      checkInterrupted(this.ctx)
      const peers = await client.call<PeerEntry[]>('peers', {}).catch(() => [])
      seen = peers.filter(p => !p.self && p.state === 'online' && p.tags.includes(TAG)).length
      if (seen >= runners) {
        console.log(`[mesh ${this.label}] the dispatcher sees ${seen} runners online after ${fmtS(performance.now() - started)}`)
        return
      }
      await sleep(250)
    }
    throw new Error(`the dispatcher sees ${seen} of ${runners} runners online after 90 s; logs in ${this.ctx.workdir}`)
  }

  cpuTicks (): number[] {
    return this.members.map(m => { try { return cpuTicks(m.daemon.pid) } catch { return NaN } })
  }

  async down (): Promise<void> {
    await Promise.all(this.members.map(async m => stopGroup(m.daemon.pid)))
  }

}

// ---------------------------------------------------------------- one task, one spawn

/** epoch ms with sub-ms precision, comparable to the record's ISO times (same machine, same clock) */
function nowEpoch (): number {
  return performance.timeOrigin + performance.now()
}

interface PushSample {
  /** push → result at the caller, ms */
  ms: number
  /** epoch ms: sent, 'submitted', 'placed', 'result' as the caller saw them */
  sent: number
  submitted: number
  placed: number
  result: number
  record: TaskRecord
}

function pushParams (target: string | undefined): PushParams {
  return {
    text: JSON.stringify({ command: ['true'] }),
    name: 'bench',
    baseDir: '/tmp',
    tags: target == null ? [TAG] : [],
    ...(target != null ? { target: { peer: target } } : {}),
    all: false,
    waitMs: 30_000,
    detach: false,
    follow: false
  }
}

async function pushOnce (client: ControlClient, params: PushParams): Promise<PushSample> {
  const t0 = performance.now()
  const sent = nowEpoch()
  let submitted = NaN
  let placed = NaN
  let record: TaskRecord | undefined
  let result = NaN
  for await (const ev of client.stream<DispatchEvent>('push', params, { timeoutMs: 60_000 })) {
    if (ev.type === 'submitted') submitted = nowEpoch()
    else if (ev.type === 'placed') placed = nowEpoch()
    else if (ev.type === 'unplaceable') throw new Error(`task ${ev.id} unplaceable: ${ev.reason}`)
    else if (ev.type === 'result') {
      result = nowEpoch()
      record = ev.record
    }
  }
  const ms = performance.now() - t0
  if (record == null) throw new Error('the push stream ended without a result')
  return { ms, sent, submitted, placed, result, record }
}

/** `true` spawned from Node, spawn → 'exit', ms */
async function spawnTrue (): Promise<number> {
  const t0 = performance.now()
  await new Promise<void>((resolve, reject) => {
    const child = spawn('true', [], { stdio: 'ignore' })
    child.once('error', reject)
    child.once('exit', (code, signal) => {
      if (code === 0) resolve()
      else reject(new Error(`true exited with ${code ?? signal ?? '?'}`))
    })
  })
  return performance.now() - t0
}

const iso = (s: string | null): number => s == null ? NaN : Date.parse(s)

/** Where one task's time went, ms (the record's times have ms resolution). */
interface Stages {
  /** control socket, parse, staging: until the dispatcher stamped submittedAt */
  toDispatcher: number
  /** queue write, 'queued' record, placement, push protocol, reservation, work dir, spawn */
  toSpawn: number
  /** the process itself, spawn → exit seen by the runner */
  process: number
  /** exit → tails read, final record signed, stored, gossiped, stored at the dispatcher, to the caller */
  toResult: number
}

function stagesOf (s: PushSample): Stages {
  const sub = iso(s.record.submittedAt)
  const start = iso(s.record.startedAt)
  const fin = iso(s.record.finishedAt)
  return { toDispatcher: sub - s.sent, toSpawn: start - sub, process: fin - start, toResult: s.result - fin }
}

// ---------------------------------------------------------------- 1. latency

interface LatencyResult {
  n: number
  warmup: number
  local: number[]
  remote: number[]
  stages: Stages[]
  /** 'placed' event after the process was spawned, ms (the runner answers after publishing 'running') */
  placedAfterSpawn: number[]
  failures: string[]
  /** CPU ms per measured task, by member */
  cpuMsPerTask: Array<{ name: string, ms: number }>
  wallS: number
  /** the measured tasks, monotonic µs (for the daemons' CPU profiles) */
  window: [number, number]
}

async function latency (ctx: Ctx, m: DispatchMesh, n: number, warmup: number): Promise<LatencyResult> {
  const target = m.runners[0]
  if (target == null) throw new Error('no runner')
  console.log(`\n[latency] ${warmup} + ${n} no-op tasks to ${target.name}, alternating with local spawns…`)
  const client = m.client()
  const params = pushParams(target.daemon.info.id)
  const res: LatencyResult = { n, warmup, local: [], remote: [], stages: [], placedAfterSpawn: [], failures: [], cpuMsPerTask: [], wallS: 0, window: [0, 0] }
  const hz = clockTicksPerSecond()
  let before: number[] = []
  let t0 = 0
  for (let i = -warmup; i < n; i++) {
    checkInterrupted(ctx)
    if (i === 0) {
      before = m.cpuTicks()
      t0 = performance.now()
      res.window[0] = monotonicUs()
    }
    let local = NaN
    let sample: PushSample | undefined
    const doRemote = async (): Promise<void> => {
      try {
        sample = await pushOnce(client, params)
        if (sample.record.state !== 'succeeded') res.failures.push(`${sample.record.id}: ${sample.record.state} ${sample.record.error ?? ''}`)
      } catch (err) {
        res.failures.push((err as Error).message)
      }
    }
    // alternate which goes first, so neither always follows the other's after-effects
    if (i % 2 === 0) {
      await doRemote()
      local = await spawnTrue()
    } else {
      local = await spawnTrue()
      await doRemote()
    }
    if (i < 0) continue
    res.local.push(local)
    checkInterrupted(ctx)
    if (sample != null && sample.record.state === 'succeeded') {
      res.remote.push(sample.ms)
      res.stages.push(stagesOf(sample))
      res.placedAfterSpawn.push(sample.placed - iso(sample.record.startedAt))
    }
    if ((i + 1) % 50 === 0) console.log(`  ${i + 1}/${n}: remote median ${fmtMs(median(res.remote))}, local median ${fmtMs(median(res.local))}`)
  }
  const after = m.cpuTicks()
  res.window[1] = monotonicUs()
  res.wallS = (performance.now() - t0) / 1000
  res.cpuMsPerTask = m.members.map((mem, k) => ({ name: mem.name, ms: ((after[k] ?? NaN) - (before[k] ?? NaN)) / hz * 1000 / n }))
  return res
}

// ---------------------------------------------------------------- 2. cli

interface CliCommand {
  key: string
  label: string
  cmd: string
  args: string[]
  /** extra check of a successful run; returns a problem or undefined */
  check?: (r: RunResult) => string | undefined
}

interface CliSeries {
  cmd: CliCommand
  ms: number[]
  failures: string[]
}

interface CliResult {
  runs: number
  series: CliSeries[]
  sshSkipped?: string
}

async function cliPhase (ctx: Ctx, m: DispatchMesh, runs: number, ssh: { sshd?: Sshd, master?: SshMaster, skipped?: string }): Promise<CliResult> {
  const target = m.runners[0]
  if (target == null) throw new Error('no runner')
  const commands: CliCommand[] = [
    { key: 'node', label: '`node -e 0` (Node start-up alone)', cmd: NODE, args: ['-e', '0'] },
    {
      key: 'mesh',
      label: '`mesh push --target B --json -- true`',
      cmd: NODE,
      args: [MESH_MAIN, 'push', '--home', m.dispatcher.daemon.home, '--target', target.daemon.info.id, '--json', '--', 'true'],
      check: r => {
        try {
          const rec = JSON.parse(r.stdout) as TaskRecord
          return rec.state === 'succeeded' ? undefined : `state ${rec.state}: ${rec.error ?? ''}`
        } catch {
          return `stdout is not a record: ${r.stdout.slice(0, 200)}`
        }
      }
    }
  ]
  if (ssh.sshd != null) commands.push({ key: 'ssh', label: '`ssh -p PORT root@127.0.0.1 true`', cmd: 'ssh', args: [...ssh.sshd.clientArgs(), 'true'] })
  if (ssh.master != null) commands.push({ key: 'ssh-cm', label: '`ssh` over a ControlMaster connection', cmd: 'ssh', args: [...ssh.master.clientArgs(), 'true'] })
  console.log(`\n[cli] 2 + ${runs} runs each of: ${commands.map(c => c.key).join(', ')} (rotating)…`)
  const series: CliSeries[] = commands.map(cmd => ({ cmd, ms: [], failures: [] }))
  for (let i = -2; i < runs; i++) {
    // rotate the order, so no command always runs right after the same other one
    for (let k = 0; k < series.length; k++) {
      const s = series[(k + Math.max(0, i)) % series.length] as CliSeries
      const r = await run(s.cmd.cmd, s.cmd.args, { reaper: ctx.reaper, timeoutMs: 60_000 })
      checkInterrupted(ctx)
      const problem = r.code !== 0 ? `exit ${r.code ?? r.signal ?? '?'}: ${r.stderr.trim().slice(0, 200)}` : s.cmd.check?.(r)
      if (i < 0) {
        if (problem != null) throw new Error(`${s.cmd.key} does not work: ${problem}`)
        continue
      }
      if (problem != null) s.failures.push(problem)
      else s.ms.push(r.ms)
    }
    if ((i + 1) % 10 === 0 && i >= 0) console.log(`  ${i + 1}/${runs}: ` + series.map(s => `${s.cmd.key} ${fmtMs(median(s.ms))}`).join(', '))
  }
  return { runs, series, ...(ssh.skipped != null ? { sshSkipped: ssh.skipped } : {}) }
}

// ---------------------------------------------------------------- 3. throughput

interface MeshRound {
  wallMs: number
  ok: number
  failures: string[]
  /** tasks that completed fine before the first failure; NaN when none failed */
  okBeforeFirstFailure: number
  /** tasks never sent because the round was stopped after too many failures */
  notSent: number
  /** ms from the round's start to the last successful task's result (failed tasks wait up to 30 s after it) */
  lastOkMs: number
  latency: number[]
  /** record.submittedAt → startedAt: placement, push and, when the runners are full, waiting */
  toSpawn: number[]
  byRunner: Map<string, number>
  cpuMsPerTask: Array<{ name: string, ms: number }>
}

interface LocalRound {
  wallMs: number
  latency: number[]
}

interface ThroughputSeries {
  concurrency: number
  local: LocalRound[]
  mesh: MeshRound[]
}

interface ThroughputResult {
  tasks: number
  runners: number
  slots: number
  series: ThroughputSeries[]
}

/** a round stops sending new tasks after this many failures (each may take the whole 30 s wait) */
const STOP_AFTER_FAILURES = 8

async function meshRound (ctx: Ctx, m: DispatchMesh, tasks: number, concurrency: number): Promise<MeshRound> {
  const client = m.client()
  const params = pushParams(undefined)
  const round: MeshRound = { wallMs: 0, ok: 0, failures: [], okBeforeFirstFailure: NaN, notSent: 0, lastOkMs: NaN, latency: [], toSpawn: [], byRunner: new Map(), cpuMsPerTask: [] }
  const hz = clockTicksPerSecond()
  const before = m.cpuTicks()
  const t0 = performance.now()
  const fail = (why: string): void => {
    if (round.failures.length === 0) round.okBeforeFirstFailure = round.ok
    round.failures.push(why)
  }
  await runPool(tasks, concurrency, async () => {
    if (round.failures.length >= STOP_AFTER_FAILURES || ctx.reaper.interrupted) {
      round.notSent++
      return
    }
    const started = performance.now()
    try {
      const s = await pushOnce(client, params)
      if (s.record.state !== 'succeeded') {
        fail(`${s.record.id}: ${s.record.state} ${s.record.error ?? ''}`)
        return
      }
      round.ok++
      round.lastOkMs = performance.now() - t0
      round.latency.push(s.ms)
      round.toSpawn.push(iso(s.record.startedAt) - iso(s.record.submittedAt))
      const who = (s.record.runnerName ?? s.record.runner ?? '?').replace(`${m.label}-`, '')
      round.byRunner.set(who, (round.byRunner.get(who) ?? 0) + 1)
    } catch (err) {
      fail(`${(err as Error).message} (after ${fmtS(performance.now() - started)})`)
    }
  })
  checkInterrupted(ctx)
  round.wallMs = performance.now() - t0
  const after = m.cpuTicks()
  round.cpuMsPerTask = m.members.map((mem, k) => ({ name: mem.name, ms: round.ok > 0 ? ((after[k] ?? NaN) - (before[k] ?? NaN)) / hz * 1000 / round.ok : NaN }))
  return round
}

async function localRound (ctx: Ctx, tasks: number, concurrency: number): Promise<LocalRound> {
  const t0 = performance.now()
  const latency = await runPool(tasks, concurrency, spawnTrue)
  checkInterrupted(ctx)
  return { wallMs: performance.now() - t0, latency }
}

interface ProfileWindow {
  mesh: DispatchMesh
  phase: string
  window: [number, number]
}

/**
 * Every mesh round runs on a mesh started for it, so one round's leftovers cannot slow the next
 * (found the hard way: rejected offers used to leave their push streams open, and after 64 on a
 * connection no push reached that runner again).
 */
async function throughput (ctx: Ctx, opts: Options, profiles: ProfileWindow[]): Promise<ThroughputResult> {
  const res: ThroughputResult = { tasks: opts.tasks, runners: opts.runners, slots: 0, series: [] }
  for (const c of opts.concurrency) {
    console.log(`\n[throughput] ${opts.rounds} rounds of ${opts.tasks} tasks, ${c} in flight, over ${opts.runners} runners, each mesh round on a fresh mesh…`)
    const series: ThroughputSeries = { concurrency: c, local: [], mesh: [] }
    res.series.push(series)
    for (let r = 0; r < opts.rounds; r++) {
      const order = r % 2 === 0 ? ['local', 'mesh'] : ['mesh', 'local']
      for (const what of order) {
        if (what === 'local') {
          const l = await localRound(ctx, opts.tasks, c)
          series.local.push(l)
          console.log(`  round ${r + 1} local: ${fmtNum(opts.tasks / (l.wallMs / 1000), 0)} spawns/s`)
          continue
        }
        const m = new DispatchMesh(ctx, `c${c}r${r + 1}`)
        try {
          await m.up(opts.runners)
          res.slots = m.runners.reduce((n, x) => n + (x.daemon.info.cores ?? 0), 0)
          // connections, streams and caches warm up on the first tasks to each runner
          const warm = await meshRound(ctx, m, c * 3, c)
          const w0 = monotonicUs()
          const mr = await meshRound(ctx, m, opts.tasks, c)
          if (r === 0) profiles.push({ mesh: m, phase: `throughput, ${c} in flight`, window: [w0, monotonicUs()] })
          series.mesh.push(mr)
          console.log(`  round ${r + 1} mesh: ${fmtNum(mr.ok / (mr.wallMs / 1000), 1)} tasks/s (warm-up ${warm.ok}/${c * 3} ok; ${mr.ok} ok, ${mr.failures.length} failed${mr.notSent > 0 ? `, ${mr.notSent} not sent` : ''}; ${[...mr.byRunner].sort().map(([k, v]) => `${k} ${v}`).join(', ')})`)
        } finally {
          await m.down()
        }
      }
    }
  }
  return res
}

// ---------------------------------------------------------------- report

interface Results {
  facts: MachineFacts
  sshVersion: string
  argv: string[]
  load: { start: number[], end: number[] }
  latency?: LatencyResult
  cli?: CliResult
  throughput?: ThroughputResult
  runnerCores: number[]
  /** an open mesh: no swarm key */
  open: boolean
  notes: string[]
  logs: Map<string, number>
  profiles: Array<{ name: string, phase: string, file: string, summary: ProfileSummary }>
  durationMs: number
}

const ratio = (a: number, b: number): string => {
  const x = a / b
  return `${fmtNum(x, x >= 10 ? 0 : x >= 0.1 ? 1 : 2)}×`
}

function row (label: string, s: Summary, extra: string[] = []): string[] {
  return [label, String(s.n), fmtMs(s.median), fmtMs(s.p95), fmtMs(s.min), fmtMs(s.max), ...extra]
}

function renderLatency (r: LatencyResult): string {
  const local = summarize(r.local)
  const remote = summarize(r.remote)
  const stage = (k: keyof Stages): number[] => r.stages.map(s => s[k]).filter(Number.isFinite)
  const stageRows: string[][] = ([
    ['toDispatcher', 'caller → dispatcher took the task (control socket, parse; `submittedAt`)'],
    ['toSpawn', 'dispatcher → process spawned on the runner (queue write, `queued` record, placement, push protocol, reservation, work dir; `startedAt`)'],
    ['process', 'the process itself: spawn → exit seen by the runner (`finishedAt`)'],
    ['toResult', 'exit → result at the caller (tails, signed record, gossip, store at the dispatcher, control socket)']
  ] as Array<[keyof Stages, string]>).map(([k, label]) => {
    const s = summarize(stage(k))
    return [label, fmtMs(s.median), fmtMs(s.p95), fmtMs(s.min), fmtMs(s.max), `${fmtNum(s.median / remote.median * 100, 0)} %`]
  })
  const pas = summarize(r.placedAfterSpawn.filter(Number.isFinite))
  return `### 1. One no-op task pushed to another daemon vs a local spawn

In-process, as \`mesh push\` does it: the benchmark sends \`push\` over the dispatcher's control
socket (\`{command:["true"]}\`, \`--target\` runner1, no output streaming) and times until the
\`result\` event; ${r.warmup} unmeasured tasks first, then ${r.n}, one at a time. Baseline:
\`child_process.spawn('true')\` → \`exit\` in the benchmark process, alternating with the pushes.

${mdTable(['what', 'samples', 'median', 'p95', 'min', 'max', 'median ÷ local spawn'], [
    row('`spawn(\'true\')` → exit, local', local, ['1.0×']),
    row('`push` → `result`, runner1 (another daemon)', remote, [ratio(remote.median, local.median)])
  ])}

**A remote no-op costs ${ratio(remote.median, local.median)} a local spawn** (median ${fmtMs(remote.median)} vs ${fmtMs(local.median)};
p95 ${fmtMs(remote.p95)} vs ${fmtMs(local.p95)})${r.failures.length > 0 ? `; ${r.failures.length} task(s) did not succeed (see notes)` : ''}.

Where the time goes (from the result record's \`submittedAt\`/\`startedAt\`/\`finishedAt\` — ms
resolution, one clock — and the caller's send/receive times; per task, ${r.stages.length} tasks):

${mdTable(['stage', 'median', 'p95', 'min', 'max', 'share of the median total'], stageRows)}

The \`placed\` event reaches the caller ${fmtMs(pas.median)} (median) after the spawn: the runner answers the
push only after it has published its \`running\` record.

CPU per task (utime+stime from \`/proc/PID/stat\` over the ${r.n} measured tasks, ${fmtNum(r.wallS, 1)} s): ${r.cpuMsPerTask.map(c => `${c.name} ${fmtNum(c.ms, 1)} ms`).join(', ')}${r.cpuMsPerTask.length > 2 ? ' (the other runners only receive the gossip)' : ''}.`
}

function renderCli (r: CliResult): string {
  const get = (key: string): CliSeries | undefined => r.series.find(s => s.cmd.key === key)
  const ssh = get('ssh')
  const cm = get('ssh-cm')
  const meshS = get('mesh')
  const node = get('node')
  const sshMed = ssh != null ? median(ssh.ms) : NaN
  const cmMed = cm != null ? median(cm.ms) : NaN
  const rows = r.series.map(s => {
    const sum = summarize(s.ms)
    return [s.cmd.label, `${s.ms.length}/${r.runs}`, fmtMs(sum.median), fmtMs(sum.p95), fmtMs(sum.min), fmtMs(sum.max),
      Number.isFinite(sshMed) ? ratio(sum.median, sshMed) : '-', Number.isFinite(cmMed) ? ratio(sum.median, cmMed) : '-']
  })
  const mm = meshS != null ? median(meshS.ms) : NaN
  const lines: string[] = []
  if (Number.isFinite(sshMed)) lines.push(`\`mesh push\` takes **${ratio(mm, sshMed)} as long as \`ssh host true\`** (median ${fmtMs(mm)} vs ${fmtMs(sshMed)})`)
  if (Number.isFinite(cmMed)) lines.push(`**${ratio(mm, cmMed)} as long as ssh over a ControlMaster connection** (${fmtMs(cmMed)})`)
  if (node != null) lines.push(`of its ${fmtMs(mm)}, ${fmtMs(median(node.ms))} is Node starting up (\`node -e 0\`)`)
  return `### 2. Whole CLI process: \`mesh push\` vs \`ssh\`

Wall clock from spawn to exit of each command, ${r.runs} runs each after 2 unmeasured, the commands
rotating. \`mesh push\` runs on the dispatcher's home and pins runner1 (it loads the CLI, talks to
its daemon, which pushes to the runner's daemon). ${r.sshSkipped != null ? `ssh: skipped — ${r.sshSkipped}.` : `ssh: an OpenSSH server started by the benchmark on a free
127.0.0.1 port (own host key and config, ed25519 client key, \`UsePAM no\`, and \`SetEnv SHLVL=1\` so the remote
bash does not source root's \`~/.bashrc\`, which bash does for sshd commands — root's rc here runs \`pyenv init\`, 0.2–0.5 s,
a cost of this account, not of ssh), \`ssh -F /dev/null -i KEY -o BatchMode=yes -o StrictHostKeyChecking=no
-p PORT root@127.0.0.1 true\`; the ControlMaster row runs
the same with \`-o ControlMaster=no -o ControlPath=S\` against a persistent \`ssh -M -N\` master (what
ControlPersist keeps), so it skips TCP, key exchange and authentication.`}

${mdTable(['command', 'runs ok', 'median', 'p95', 'min', 'max', 'median ÷ ssh', 'median ÷ ssh (ControlMaster)'], rows)}

${lines.length > 0 ? lines.join('; ') + '.' : ''}`
}

function renderThroughput (r: ThroughputResult): string {
  const rows: string[][] = []
  const lines: string[] = []
  const details: string[] = []
  const rate = (x: number): string => fmtNum(x, x >= 100 ? 0 : 1)
  for (const se of r.series) {
    const localRates = se.local.map(l => r.tasks / (l.wallMs / 1000))
    const meshRates = se.mesh.map(x => x.ok / (x.wallMs / 1000))
    const lr = summarize(localRates)
    const mr = summarize(meshRates)
    const localLat = summarize(se.local.flatMap(l => l.latency))
    const meshLat = summarize(se.mesh.flatMap(x => x.latency))
    const failed = se.mesh.reduce((n, x) => n + x.failures.length, 0)
    const notSent = se.mesh.reduce((n, x) => n + x.notSent, 0)
    rows.push([`\`spawn('true')\`, local`, String(se.concurrency), String(se.local.length), rate(lr.median), rate(lr.min), rate(lr.max), fmtMs(localLat.median), fmtMs(localLat.p95), '0', '1.0×'])
    rows.push([`mesh, ${r.runners} runners`, String(se.concurrency), String(se.mesh.length), rate(mr.median), rate(mr.min), rate(mr.max), fmtMs(meshLat.median), fmtMs(meshLat.p95),
      `${failed}${notSent > 0 ? ` (+${notSent} not sent)` : ''}`, `1/${fmtNum(lr.median / mr.median, 0)}`])
    const toSpawn = summarize(se.mesh.flatMap(x => x.toSpawn))
    const waited = se.mesh.flatMap(x => x.toSpawn).filter(ms => ms >= 400).length
    const byRunner = new Map<string, number>()
    for (const x of se.mesh) for (const [k, v] of x.byRunner) byRunner.set(k, (byRunner.get(k) ?? 0) + v)
    const cpu = new Map<string, number[]>()
    for (const x of se.mesh) for (const c of x.cpuMsPerTask) if (Number.isFinite(c.ms)) cpu.set(c.name, [...(cpu.get(c.name) ?? []), c.ms])
    const cpuSum = [...cpu.values()].reduce((n, v) => n + median(v), 0)
    const broken = se.mesh.filter(x => x.failures.length > 0)
    const okOnly = summarize(broken.map(x => x.ok / (x.lastOkMs / 1000)))
    lines.push(`- **${se.concurrency} in flight: ${rate(mr.median)} tasks/s, ${ratio(lr.median, mr.median)} fewer than local spawns (${rate(lr.median)}/s).**
  Spread over the runners: ${[...byRunner].sort().map(([k, v]) => `${k} ${v}`).join(', ')}. \`submittedAt\` → \`startedAt\` per task: median ${fmtMs(toSpawn.median)},
  p95 ${fmtMs(toSpawn.p95)}, max ${fmtMs(toSpawn.max)}; ${waited} of ${toSpawn.n} tasks waited ≥ 400 ms (the dispatcher tries placement again
  every 500 ms when every runner it offered the task to said no). CPU per task (median over rounds):
  ${[...cpu].map(([k, v]) => `${k} ${fmtNum(median(v), 1)} ms`).join(', ')} — ${fmtNum(cpuSum, 0)} ms in all, so ${availableParallelism()} cores cap this mesh
  at about ${fmtNum(availableParallelism() * 1000 / cpuSum, 0)} tasks/s whatever the concurrency.${broken.length > 0
    ? `\n  ${broken.length} of ${se.mesh.length} rounds had failures (see notes), reported after ${broken.map(x => x.okBeforeFirstFailure).join(', ')} good tasks; a failing task
  holds its slot for the 30 s wait limit, so those rounds end with a wait: counted until their last good task they ran
  ${broken.map(x => rate(x.ok / (x.lastOkMs / 1000))).join(', ')} tasks/s (median ${rate(okOnly.median)}).`
    : ''}`)
    details.push(...se.mesh.map((x, i) => `- ${se.concurrency} in flight, round ${i + 1}: local ${rate(localRates[i] ?? NaN)}/s (${fmtS(se.local[i]?.wallMs ?? NaN)}); mesh ${rate(meshRates[i] ?? NaN)}/s (${fmtS(x.wallMs)}, ${x.ok} ok${x.failures.length > 0 ? `, ${x.failures.length} failed, the first after ${x.okBeforeFirstFailure} ok` : ''}${x.notSent > 0 ? `, ${x.notSent} not sent` : ''}; ${[...x.byRunner].sort().map(([k, v]) => `${k} ${v}`).join(', ')})`))
  }
  return `### 3. Throughput: ${r.tasks} no-op tasks over ${r.runners} runners, a fixed number in flight

${r.runners} runners tagged \`${TAG}\` (the dispatcher has no tags, so it runs none itself); each task is
\`{command:["true"]}\` pushed with \`tags: ["${TAG}"]\` over the dispatcher's control socket, a new one as soon as one
ends. Baseline: ${r.tasks} \`spawn('true')\` from Node with the same number in flight. Rounds of each alternate; **every mesh
round runs on a mesh started for it** (after ${r.series.map(x => x.concurrency * 3).join('/')} unmeasured tasks), so what one round leaves behind (open
streams, stored records, a broken connection) cannot slow the next.
A round stops sending after ${STOP_AFTER_FAILURES} failed tasks. A task asks for 1 core (the schema's minimum) and the runners
have ${r.slots} cores in all, so up to ${r.slots} tasks can run at once; more in flight wait for a free slot.

${mdTable(['what', 'in flight', 'rounds', 'tasks/s median', 'min', 'max', 'per task: median', 'p95', 'failed', 'median ÷ local'], rows)}

${lines.join('\n')}

<details><summary>every round</summary>

${details.join('\n')}

</details>`
}

function renderProfiles (profiles: Results['profiles']): string {
  if (profiles.length === 0) return ''
  const pct = (ms: number, s: ProfileSummary): string => `${fmtNum(ms / s.busyMs * 100, ms / s.busyMs >= 0.1 ? 0 : 1)} %`
  const parts = profiles.map(p => {
    const s = p.summary
    return `**${p.name}, ${p.phase}** — ${fmtS(s.totalMs)} of profile, ${fmtS(s.busyMs)} not idle (on CPU or waiting for one).
By package (self): ${s.packages.slice(0, 10).map(([k, ms]) => `${k} ${pct(ms, s)}`).join(', ')}.
Functions (self): ${s.functions.slice(0, 10).map(([k, ms]) => `\`${k}\` ${pct(ms, s)}`).join(', ')}.
mesh functions (inclusive): ${s.own.slice(0, 12).map(([k, ms]) => `\`${k}\` ${pct(ms, s)}`).join(', ')}.`
  })
  return `### CPU profiles of the daemons (\`--cpu-prof\`; the figures above are slower for it)

Shares of the samples that were not idle, over the measured part of each phase; profiles in
\`${profiles[0]?.file.replace(/\/prof\/.*$/, '/prof') ?? ''}\`.

${parts.join('\n\n')}`
}

function render (r: Results, opts: Options): string {
  const f = r.facts
  const la = (x: number[]): string => x.map(v => v.toFixed(2)).join(' ')
  const parts = [
    `## Dispatch latency and throughput (\`npm run bench:dispatch\`)

Run ${f.date.replace(/\.\d+Z$/, 'Z')} on ${f.nproc} cores (${f.cpuModel}), ${fmtNum(f.memTotalGiB)} GiB RAM, Node ${f.node},
Linux ${f.kernel}, ${r.sshVersion}; code measured: ${MESH_MAIN === BUILT_MAIN ? `this checkout, commit ${f.commit}` : `\`MESH_MAIN=${MESH_MAIN}\``}; ${fmtS(r.durationMs)} in all.
Arguments: \`${r.argv.length > 0 ? r.argv.join(' ') : '(defaults)'}\`${opts.cpuProf ? ' — **profiled run: the daemons ran with --cpu-prof**' : ''}. Load average (1/5/15 min) at the start ${la(r.load.start)}, at the end
${la(r.load.end)}: the machine is shared, so compare medians, and the rows of one table ran interleaved.
A mesh of ${r.runnerCores.length + 1} daemons with default settings (${r.open ? 'open: no swarm key, ' : ''}process executor, ${defaultTimings()}, log level ${process.env.MESH_LOG_LEVEL ?? 'info'}): a
dispatcher and ${r.runnerCores.length} runners (${r.runnerCores.join(', ')} cores each), bootstrapped to the dispatcher.`
  ]
  if (r.latency != null) parts.push(renderLatency(r.latency))
  if (r.cli != null) parts.push(renderCli(r.cli))
  if (r.throughput != null) parts.push(renderThroughput(r.throughput))
  const prof = renderProfiles(r.profiles)
  if (prof !== '') parts.push(prof)
  const notes = r.notes.map(n => `- ${n}`)
  if (r.logs.size > 0) {
    notes.push('- daemon log lines at warn or above, over every daemon of the run:')
    for (const [k, n] of [...r.logs].sort((a, b) => b[1] - a[1]).slice(0, 15)) notes.push(`  - ${n} × ${k}`)
  }
  parts.push(`### Notes\n\n${notes.length > 0 ? notes.join('\n') : '- nothing unusual: every task succeeded and no daemon logged a warning or error.'}`)
  return parts.join('\n\n')
}

function failureNotes (r: Results): string[] {
  const out: string[] = []
  const list = (what: string, xs: string[]): void => {
    if (xs.length === 0) return
    // group by the message with ids and peer ids masked; show each kind once, in full
    const kinds = new Map<string, { n: number, example: string }>()
    for (const x of xs) {
      const k = x.replace(/12D3KooW[1-9A-HJ-NP-Za-km-z]+/g, 'PEER').replace(/\b[0-9a-z]{15}(-\d+)?\b/g, 'ID')
      const kind = kinds.get(k) ?? { n: 0, example: x }
      kind.n++
      kinds.set(k, kind)
    }
    out.push(`${what}: ${xs.length} failed — ${[...kinds.values()].map(k => `${k.n} × ${k.example.slice(0, 600)}`).join('; ')}`)
  }
  if (r.latency != null) list('latency', r.latency.failures)
  if (r.cli != null) for (const s of r.cli.series) list(`cli ${s.cmd.key}`, s.failures)
  for (const se of r.throughput?.series ?? []) list(`throughput, ${se.concurrency} in flight`, se.mesh.flatMap(x => x.failures))
  const all = [...(r.latency?.failures ?? []), ...(r.throughput?.series ?? []).flatMap(se => se.mesh.flatMap(x => x.failures))]
  if (all.some(f => f.includes('Too many outbound protocol streams') || f.includes('Cannot write to a stream that is closed'))) {
    out.push('the push failures above are the push-stream leak: when a runner rejects an offer (full), `PushService.push` ' +
      '(src/protocols/push/push.ts) returns without closing or aborting its stream, so the stream stays open on the connection; after 64 ' +
      '(the per-protocol stream limit) every push to that runner fails — "Cannot write to a stream that is closed" (the runner resets ' +
      'the 65th inbound stream), then "Too many outbound protocol streams … 65/64" — until the connection is replaced')
  }
  if (all.some(f => f.includes('was already received (replay)'))) {
    out.push('"was already received (replay)": the runners\' replay guard (src/node/trust/replay-guard.ts, called from ' +
      'src/node/membership/offer-auth.ts) consumes the offer\'s task id when it verifies the offer, before the runner decides ' +
      'whether it has room; after a "full" refusal the dispatcher offers the same task again 500 ms later and every runner ' +
      'that saw it refuses it as a replay, so the task fails with exit 3 at the wait limit')
  }
  if (r.latency != null) {
    const med = median(r.latency.remote)
    if (med > SLOW_REMOTE_MS) out.push(`a remote no-op takes ${fmtMs(med)} (median), more than ${SLOW_REMOTE_MS} ms: the stage table says where; \`--cpu-prof\` adds the daemons' CPU profiles to the report`)
  }
  return out
}

// ---------------------------------------------------------------- main

async function main (argv: string[]): Promise<number> {
  const start = await benchStart('bench:dispatch', argv, parse, HELP, `homes, daemon logs and profiles`)
  if (typeof start === 'number') return start
  const { opts, reaper, workdir, started } = start
  const ctx: Ctx = { workdir, ...(opts.open ? {} : { swarmKey: join(workdir, 'swarm.key') }), reaper, cpuProf: opts.cpuProf, notes: [] }
  const facts = machineFacts(REPO_ROOT)
  const loadStart = loadavg()
  console.log(`bench:dispatch: ${facts.nproc} cores, Node ${facts.node}, load ${loadStart.map(x => x.toFixed(2)).join(' ')}; work dir ${workdir}`)
  const meshes: DispatchMesh[] = []
  const profileWindows: ProfileWindow[] = []
  let sshd: Sshd | undefined
  let master: SshMaster | undefined
  try {
    if (ctx.swarmKey != null) {
      const key = await mesh(['swarm-key', '--out', ctx.swarmKey], { reaper })
      if (key.code !== 0) throw new Error(`mesh swarm-key failed: ${key.stderr.trim()}`)
    }
    const ver = await run('ssh', ['-V'], { reaper }).catch(() => undefined)
    const results: Results = {
      facts,
      sshVersion: ver != null ? (ver.stderr.trim().split(',')[0] ?? '').trim() || 'ssh ?' : 'no ssh',
      argv,
      load: { start: loadStart, end: [] },
      runnerCores: [],
      open: opts.open,
      notes: ctx.notes,
      logs: new Map(),
      profiles: [],
      durationMs: 0
    }

    if (opts.only.has('latency') || opts.only.has('cli')) {
      const m = new DispatchMesh(ctx, 'main')
      meshes.push(m)
      await m.up(opts.runners)
      results.runnerCores = m.runners.map(r => r.daemon.info.cores ?? 0)
      if (opts.only.has('latency')) {
        results.latency = await latency(ctx, m, opts.latencyTasks, opts.warmup)
        profileWindows.push({ mesh: m, phase: 'latency', window: results.latency.window })
      }
      if (opts.only.has('cli')) {
        let skipped = sshProblem()
        if (skipped == null) {
          try {
            const dir = join(workdir, 'sshd')
            await mkdir(dir, { mode: 0o700 })
            sshd = await startSshd({ dir, reaper })
            master = await startSshMaster(sshd, reaper)
            console.log(`\n[ssh] sshd on 127.0.0.1:${sshd.port} (pid ${sshd.pid}), ControlMaster up`)
          } catch (err) {
            skipped = `the sshd could not be used: ${(err as Error).message.split('\n')[0] ?? ''}`
            ctx.notes.push(`ssh baseline skipped: ${(err as Error).message}`)
          }
        }
        results.cli = await cliPhase(ctx, m, opts.cliRuns, { ...(sshd != null ? { sshd } : {}), ...(master != null ? { master } : {}), ...(skipped != null ? { skipped } : {}) })
        await master?.stop()
        await sshd?.stop()
      }
      await m.down()
    }
    if (opts.only.has('throughput')) {
      const tp = results.throughput = await throughput(ctx, opts, profileWindows)
      if (results.runnerCores.length === 0) results.runnerCores = Array.from({ length: opts.runners }, () => tp.slots / opts.runners)
    }
    results.load.end = loadavg()

    results.logs = warnings(readdirSync(workdir).map(d => join(workdir, d, 'daemon.log')))
    if (opts.cpuProf) {
      for (const pw of profileWindows) {
        for (const mem of pw.mesh.members) {
          const dir = pw.mesh.profDir(mem.name)
          const file = existsSync(dir) ? readdirSync(dir).find(f => f.endsWith('.cpuprofile')) : undefined
          if (file == null) {
            ctx.notes.push(`no CPU profile was written for ${pw.mesh.label}-${mem.name}`)
            continue
          }
          results.profiles.push({ name: mem.name, phase: pw.phase, file: join(dir, file), summary: summarizeProfile(join(dir, file), 20, pw.window) })
        }
      }
    }
    ctx.notes.unshift(...failureNotes(results))
    results.durationMs = performance.now() - started
    checkInterrupted(ctx)
    const section = render(results, opts)
    await publishSection(opts, SECTION, section, facts)
    return 0
  } catch (err) {
    return await benchFailed('bench:dispatch', start, err, { interrupted: err instanceof Interrupted })
  } finally {
    if (!reaper.interrupted) {
      await master?.stop()
      await sshd?.stop()
      for (const m of meshes) await m.down()
      await reaper.cleanup()
    }
  }
}

process.exitCode = await main(process.argv.slice(2))
