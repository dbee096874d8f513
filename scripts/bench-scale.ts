/**
 * Scale benchmark on the multi-host lab (scripts/lib/netns.ts): meshes of 10, 25 and 50 daemons,
 * each host a network namespace with its own IP on one bridge, its own daemon and home, default
 * daemon settings. Per mesh size N:
 *
 *   (a) join — N−1 daemons run; a NEW daemon (fresh home, key and unique tag) starts on host N,
 *       bootstrapping to host1; time until EVERY member's peer table lists it with that tag.
 *       Each member's control socket is asked for its peer table about once a second (no CLI
 *       process per poll); the time a member learnt of the newcomer is the `lastSeen` of its first
 *       row that lists it — the member's own clock at the heartbeat it received — so the poll
 *       interval does not limit the resolution. The last newcomer stays: the mesh then has N.
 *   (b) result — a task (`sleep S`) is pushed from host1 to a runner; every member holds a `wait`
 *       call on its control socket, which the daemon answers the moment it stores the final record
 *       (push, not poll). Delay = answer time − the record's finishedAt (the runner's clock when
 *       the task ended, before it seals, stores and gossips the record; one machine, one clock).
 *       Baseline: host1, the dispatcher, directly connected to the runner.
 *   (c) idle — VmRSS and CPU (utime+stime, /proc/PID/stat) of every daemon over --idle-seconds,
 *       and how busy the whole machine was (/proc/stat): a 2-core machine may be CPU-bound.
 *
 * Rewrites the <!-- bench:scale --> section of BENCHMARKS.md; line and box plots (SVG) go to
 * docs/bench/scale-*.svg when scripts/lib/plot.ts is there; the raw figures to
 * docs/bench/scale-results.json (`--replot` renders the section again from it).
 */
import { randomBytes } from 'node:crypto'
import { readdirSync } from 'node:fs'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { loadavg } from 'node:os'
import { join, relative, resolve } from 'node:path'
import { performance } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import { parseArgs } from 'node:util'
import { benchFailed, benchStart } from './lib/bench-main.js'
import { monotonicUs, summarizeProfile } from './lib/cpuprofile.js'
import { discovery, warnings } from './lib/daemon-logs.js'
import { createLab, makeSwarmKey, netnsProblem, startHost, teardown, writeNetState } from './lib/netns.js'
import { busyShare, control, loadPlots, machineTicks, peersOf, profileOf, startMesh, stopHostGracefully, waitConverged } from './lib/netns-mesh.js'
import { runPool } from './lib/pool.js'
import { BUILT_MAIN, MESH_MAIN, REPO_ROOT, stopGroup } from './lib/proc.js'
import { clockTicksPerSecond, cpuTicks, machineFacts, rssKiB } from './lib/procfs.js'
import { defaultTimings, fmtMs, fmtNum, fmtS, mdTable, publishSection } from './lib/report.js'
import { max, median, min, p95, summarize } from './lib/stats.js'
import { whole } from './lib/args.js'
import type { TaskRecord } from '../src/protocols/results/index.js'
import type { ProfileSummary } from './lib/cpuprofile.js'
import type { NetHost, NetLabState } from './lib/netns.js'
import type { PlotLib } from './lib/netns-mesh.js'
import type { Reaper } from './lib/proc.js'
import type { MachineFacts } from './lib/procfs.js'

const SECTION = 'bench:scale'
const TAG = 'scale'
/** the host started with --cpu-prof (not a dispatcher, runner or bootstrap node) */
const PROFILED = 3

const HELP = `Usage: npm run bench:scale -- [options]

Needs root and 'ip netns'. For each mesh size N, builds a lab of N network namespaces (10.213.0.K on
a bridge), starts N−1 daemons and measures:
  (a) join: a new daemon with a fresh tag joins; time until every member's peer table lists it
  (b) result: a task's final record, from the runner storing it to every member storing it
  (c) idle: RSS and CPU of every daemon, and how busy the machine was
then rewrites the bench:scale section of BENCHMARKS.md and writes docs/bench/scale-*.svg.
About 10–20 minutes per run of the three sizes on 2 cores (30–60 with the default 3 runs). Run it under flock /tmp/mesh-bench.lock.

Options:
  --sizes 10,25,50       mesh sizes (the newcomer included; at most 50)
  --runs 3               fresh labs per size; the sizes take turns (10, 25, 50, 10, …), so a
                         machine that gets busier mid-run shifts every size alike
  --join-reps 3          newcomers per size (the last one stays in the mesh)
  --result-reps 5        tasks per size
  --idle-seconds 30      CPU measurement window
  --concurrency 4        daemons started at once
  --subnet CIDR          lab subnet (default 10.213.0.0/24)
  --no-cpu-prof          do not run host${PROFILED} with --cpu-prof (its profile says where an idle daemon's CPU goes)
  --replot FILE          no measurement: render the section and plots from a saved results JSON
  --out FILE             report file (default BENCHMARKS.md in the repository)
  --no-write             print the report, do not touch BENCHMARKS.md, the plots or the JSON
  --keep                 keep the lab's homes and logs (in a temp folder) afterwards
  -h, --help             this text

Everything (namespaces, veths, bridge, daemons, homes) is torn down at the end, on failure and on
Ctrl-C. Set MESH_MAIN=/path/to/dist/src/cli/main.js to measure another build.`

interface Options {
  sizes: number[]
  runs: number
  joinReps: number
  resultReps: number
  idleSeconds: number
  concurrency: number
  subnet: string | undefined
  cpuProf: boolean
  replot: string | undefined
  out: string
  write: boolean
  keep: boolean
}

function parse (argv: string[]): Options | 'help' {
  const { values } = parseArgs({
    args: argv,
    options: {
      sizes: { type: 'string', default: '10,25,50' },
      runs: { type: 'string', default: '3' },
      'join-reps': { type: 'string', default: '3' },
      'result-reps': { type: 'string', default: '5' },
      'idle-seconds': { type: 'string', default: '30' },
      concurrency: { type: 'string', default: '4' },
      subnet: { type: 'string' },
      'no-cpu-prof': { type: 'boolean', default: false },
      replot: { type: 'string' },
      out: { type: 'string', default: join(REPO_ROOT, 'BENCHMARKS.md') },
      'no-write': { type: 'boolean', default: false },
      keep: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false }
    }
  })
  if (values.help) return 'help'
  return {
    sizes: [...new Set(values.sizes.split(',').map(s => whole('--sizes', s.trim(), 4, 50)))].sort((a, b) => a - b),
    runs: whole('--runs', values.runs, 1, 10),
    joinReps: whole('--join-reps', values['join-reps'], 1),
    resultReps: whole('--result-reps', values['result-reps'], 1),
    idleSeconds: whole('--idle-seconds', values['idle-seconds'], 5),
    concurrency: whole('--concurrency', values.concurrency, 1),
    subnet: values.subnet,
    cpuProf: !values['no-cpu-prof'],
    replot: values.replot != null ? resolve(values.replot) : undefined,
    out: resolve(values.out),
    write: !values['no-write'],
    keep: values.keep
  }
}

// ---------------------------------------------------------------- results (saved as JSON)

interface JoinRep {
  rep: number
  tag: string
  spawnToReadyMs: number
  /** per member: newcomer ready → the member's lastSeen of it (ms); NaN when never seen */
  foundMs: number[]
  /** members that never listed it within the limit */
  missing: string[]
  /** how far off `lastSeen` may be: the longest poll round (ms) */
  pollRoundMs: number
}

interface ResultRep {
  rep: number
  runner: string
  /** record finishedAt → the runner's own wait answered (sealing, storing) */
  runnerStoreMs: number
  /** per member except the runner: its answer − the record's finishedAt (ms) */
  delayMs: number[]
  /** host1, the dispatcher, directly connected to the runner */
  directMs: number
  /** members whose wait only started after the record was final (excluded) */
  late: string[]
  /**
   * what the delays count from: the record's finishedAt (the runner's clock when the task ended,
   * just before it seals, stores and gossips the record); absent in results saved by the first
   * version, whose delays counted from the runner's own answer (normalised on load)
   */
  from?: 'finishedAt'
}

interface IdleFigures {
  seconds: number
  daemons: number
  rssMiB: number[]
  cpuPct: number[]
  /** share of the whole machine (all cores) busy meanwhile, 0..1 */
  machineBusy: number
  loadAvg: number
}

interface SizeResult {
  size: number
  /** which run of this size (1…), when there were several; absent in files before --runs */
  run?: number
  started: number
  failed: Array<{ host: string, error: string }>
  stoppedEarly?: string
  startMs: number
  converge: { ms: number, converged: boolean, minSeen: number, expect: number }
  /** from the daemons' logs: per pair, the later start to the first `peer online` (absent in runs before 67a80d3) */
  contacts?: { pairs: number, medianMs: number, p95Ms: number, maxMs: number, over5s: number, lastMs: number, missing: number }
  join: JoinRep[]
  /** all members' CPU during the join runs (polls included), % of one core, and machine busy share */
  joinCpu: { membersPct: number, machineBusy: number }
  result: ResultRep[]
  idle?: IdleFigures
  profile?: { host: string, file: string, summary: ProfileSummary }
  notes: string[]
  error?: string
}

interface Results {
  facts: MachineFacts
  concurrency: number
  argv: string[]
  meshMain: string
  sizes: SizeResult[]
  logs: Array<[string, number]>
  durationMs: number
}

// ---------------------------------------------------------------- one mesh size

interface Ctx {
  opts: Options
  reaper: Reaper
  workdir: string
}

/** the exit-time teardowns of labs already down, removed after the run (several runs would pass Node's listener limit) */
const exitHandlers: Array<() => void> = []

function heartbeatNote (): string { return `default settings: ${defaultTimings()}` }

async function measureSize (ctx: Ctx, size: number, run: number): Promise<SizeResult> {
  const { opts, reaper } = ctx
  // a directory per run: a lab that did not come down cleanly must not block the next run of its size
  const dir = join(ctx.workdir, `lab${size}-r${run}`)
  const profDir = join(ctx.workdir, `prof${size}-r${run}`)
  const res: SizeResult = { size, started: 0, failed: [], startMs: NaN, converge: { ms: NaN, converged: false, minSeen: 0, expect: size - 2 }, join: [], joinCpu: { membersPct: NaN, machineBusy: NaN }, result: [], notes: [] }
  let state: NetLabState | undefined
  try {
    state = createLab({ dir, hosts: size, tags: Array.from({ length: size - 1 }, () => [TAG]), owner: process.pid, ...(opts.subnet != null ? { subnet: opts.subnet } : {}) })
    // torn down on Ctrl-C and on a plain exit too (synchronous, idempotent; the run id finds the
    // namespaces even when the work dir with the state file is already gone)
    const runId = state.runId
    reaper.onCleanup(() => { teardown(dir, runId) })
    const onExit = (): void => { teardown(dir, runId) }
    process.once('exit', onExit)
    exitHandlers.push(onExit)
    await makeSwarmKey(state, { reaper })
    await mkdir(profDir, { recursive: true })
    const lab = state
    const members = state.hosts.slice(0, size - 1)
    const newcomerHost = state.hosts[size - 1] as NetHost
    console.log(`\n[scale ${size}] lab ${state.runId}: starting ${members.length} daemons, ${opts.concurrency} at a time…`)
    const profiled = opts.cpuProf && members.length >= PROFILED + 2 ? members[PROFILED - 1] : undefined
    const started = await startMesh(state, members, {
      reaper,
      concurrency: opts.concurrency,
      envFor: h => h === profiled ? { NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --cpu-prof --cpu-prof-dir=${profDir}`.trim() } : undefined,
      onStarted: (_h, i) => { process.stdout.write(`${i} `) }
    })
    process.stdout.write('\n')
    res.started = started.started.length
    res.failed = started.failed.map(f => ({ host: f.host.name, error: f.error }))
    if (started.stoppedEarly != null) res.stoppedEarly = started.stoppedEarly
    res.startMs = started.ms
    const up = members.filter(h => h.pid != null)
    console.log(`  ${up.length}/${members.length} daemons up in ${fmtS(started.ms)}${res.failed.length > 0 ? `; failed: ${res.failed.map(f => `${f.host} (${f.error})`).join('; ')}` : ''}`)
    if (up.length < 3) throw new Error(`only ${up.length} daemons started`)
    const conv = await waitConverged(up, up.length - 1, 120_000 + 4_000 * size)
    res.converge = { ms: conv.ms, converged: conv.converged, minSeen: min([...conv.seen.values()]), expect: up.length - 1 }
    console.log(`  ${conv.converged ? 'converged' : 'NOT converged'} in ${fmtS(conv.ms)} (every member sees ≥ ${res.converge.minSeen} of ${up.length - 1} others online)`)
    const d = discovery(up.map(h => ({ name: h.name, file: join(h.home, 'daemon.log') })))
    res.contacts = { pairs: d.pairMs.length, medianMs: median(d.pairMs), p95Ms: p95(d.pairMs), maxMs: max(d.pairMs), over5s: d.pairMs.filter(x => x > 5_000).length, lastMs: d.lastMs, missing: d.missing.length }
    console.log(`  first contact per pair (logs): median ${fmtMs(res.contacts.medianMs)}, p95 ${fmtMs(res.contacts.p95Ms)}, max ${fmtMs(res.contacts.maxMs)}, ${res.contacts.over5s} over 5 s, last ${fmtS(d.lastMs)} after the last start; ${d.missing.length} pairs never`)
    await sleep(10_000)

    // (a) join
    const hz = clockTicksPerSecond()
    const t0 = performance.now()
    const m0 = machineTicks()
    const c0 = up.map(h => cpuTicks(h.pid as number))
    for (let rep = 1; rep <= opts.joinReps; rep++) {
      const last = rep === opts.joinReps
      res.join.push(await joinRep(ctx, lab, up, newcomerHost, rep, last))
      const j = res.join.at(-1) as JoinRep
      console.log(`  join ${rep}/${opts.joinReps}: spawn→ready ${fmtS(j.spawnToReadyMs)}; found by every member after ${fmtS(max(j.foundMs))} (median ${fmtS(median(j.foundMs))}); missing ${j.missing.length}; poll round ≤ ${fmtMs(j.pollRoundMs)}`)
      if (!last) await sleep(3_000)
    }
    const secs = (performance.now() - t0) / 1000
    res.joinCpu = {
      membersPct: up.reduce((s, h, i) => s + (safeTicks(h) - (c0[i] ?? 0)), 0) / hz / secs * 100,
      machineBusy: busyShare(m0, machineTicks())
    }
    const all = newcomerHost.pid != null ? [...up, newcomerHost] : up
    await sleep(10_000)

    // (c) idle, now with the newcomer: N daemons
    console.log(`  idle: ${all.length} daemons, ${opts.idleSeconds} s…`)
    const w0 = monotonicUs()
    const i0 = all.map(h => safeTicks(h))
    const im0 = machineTicks()
    const it0 = performance.now()
    await sleep(opts.idleSeconds * 1000)
    const i1 = all.map(h => safeTicks(h))
    const iSecs = (performance.now() - it0) / 1000
    const idleWindow: [number, number] = [w0, monotonicUs()]
    const measured = all.map((h, i) => ({ h, cpu: ((i1[i] ?? 0) - (i0[i] ?? 0)) / hz / iSecs * 100 })).filter(x => x.h !== profiled)
    res.idle = {
      seconds: iSecs,
      daemons: all.length,
      rssMiB: measured.map(x => safeRss(x.h) / 1024).filter(x => x > 0),
      cpuPct: measured.map(x => x.cpu),
      machineBusy: busyShare(im0, machineTicks()),
      loadAvg: loadavg()[0] ?? NaN
    }
    console.log(`  idle: RSS median ${fmtNum(median(res.idle.rssMiB))} MiB, CPU median ${fmtNum(median(res.idle.cpuPct), 2)} % of a core, machine ${fmtNum(res.idle.machineBusy * 100, 0)} % busy`)

    // (b) result
    const runners = up.filter(h => h.index > 3)
    for (let rep = 1; rep <= opts.resultReps; rep++) {
      const pool = runners.length > 0 ? runners : up
      const runner = pool[(rep - 1) % pool.length] as NetHost
      const r = await resultRep(ctx, all, up[0] as NetHost, runner, rep, size)
      if (r != null) {
        res.result.push(r)
        console.log(`  result ${rep}/${opts.resultReps} on ${runner.name}: every member after ${fmtMs(max(r.delayMs))} (median ${fmtMs(median(r.delayMs))}); dispatcher ${fmtMs(r.directMs)}; late ${r.late.length}`)
      } else {
        res.notes.push(`size ${size}, task ${rep}: no figures (see the log above)`)
      }
      await sleep(1_000)
    }

    if (profiled?.pid != null) {
      const pid = profiled.pid
      await stopHostGracefully(lab, profiled, reaper)
      const file = profileOf(profDir, pid)
      if (file != null) res.profile = { host: profiled.name, file, summary: summarizeProfile(file, 20, idleWindow) }
      else res.notes.push(`size ${size}: no CPU profile was written by ${profiled.name}`)
    }
  } catch (err) {
    if (reaper.interrupted) throw err
    res.error = (err as Error).message
    console.error(`  size ${size} failed: ${res.error}`)
  } finally {
    if (state != null) {
      try { countWarnings(state) } catch { /* a half-built lab */ }
      const t = teardown(dir)
      if (t.problems.length > 0) res.notes.push(`teardown of the ${size}-host lab: ${t.problems.join('; ')}`)
    }
  }
  return res
}

function safeTicks (h: NetHost): number {
  try { return h.pid != null ? cpuTicks(h.pid) : 0 } catch { return 0 }
}

function safeRss (h: NetHost): number {
  try { return h.pid != null ? rssKiB(h.pid) : 0 } catch { return 0 }
}

const logCounts = new Map<string, number>()

/** counts the warn-or-worse lines of every home of the lab (the newcomers' included) */
function countWarnings (state: NetLabState): void {
  const files = readdirSync(state.dir).map(d => join(state.dir, d, 'daemon.log'))
  for (const [k, n] of warnings(files)) logCounts.set(k, (logCounts.get(k) ?? 0) + n)
}

async function joinRep (ctx: Ctx, state: NetLabState, members: NetHost[], host: NetHost, rep: number, stay: boolean): Promise<JoinRep> {
  const tag = `scale-new-${rep}-${randomBytes(3).toString('hex')}`
  host.home = join(state.dir, `${host.name}-new${rep}`)
  host.tags = [tag]
  host.pid = null
  await mkdir(host.home, { recursive: true, mode: 0o700 })
  await writeFile(join(host.home, 'config.json'), JSON.stringify({ version: 1, name: `new${rep}`, ...state.config }) + '\n', { mode: 0o600 })
  writeNetState(state)
  const spawnAt = Date.now()
  const first = members[0] as NetHost
  await startHost(state, host, [first.addr], { reaper: ctx.reaper, timeoutMs: 180_000 })
  const readyAt = Date.now()
  const found = new Map<string, number>()
  const deadline = readyAt + 120_000
  let pollRoundMs = 0
  while (found.size < members.length && Date.now() < deadline) {
    const r0 = Date.now()
    const pending = members.filter(m => !found.has(m.name))
    await runPool(pending.length, 8, async i => {
      const m = pending[i] as NetHost
      const peers = await peersOf(m).catch(() => [])
      const row = peers.find(p => p.id === host.id && p.tags.includes(tag))
      // lastSeen: this member's clock when it stored the newcomer's latest heartbeat
      if (row != null) found.set(m.name, row.lastSeen != null ? Date.parse(row.lastSeen) : Date.now())
    })
    pollRoundMs = Math.max(pollRoundMs, Date.now() - r0)
    const wait = 1_000 - (Date.now() - r0)
    if (wait > 0) await sleep(wait)
  }
  if (!stay && host.pid != null) {
    await stopGroup(host.pid)
    host.pid = null
    writeNetState(state)
  }
  return {
    rep,
    tag,
    spawnToReadyMs: readyAt - spawnAt,
    foundMs: members.map(m => found.has(m.name) ? (found.get(m.name) as number) - readyAt : NaN).filter(Number.isFinite),
    missing: members.filter(m => !found.has(m.name)).map(m => m.name),
    pollRoundMs
  }
}

async function resultRep (ctx: Ctx, all: NetHost[], dispatcher: NetHost, runner: NetHost, rep: number, size: number): Promise<ResultRep | undefined> {
  // long enough for the queued/running records to reach every member and its wait to be open
  const sleepS = Math.max(3, Math.ceil(size / 8))
  const task = { name: `scale-result-${rep}`, command: ['sleep', String(sleepS)] }
  let id: string | undefined
  for await (const ev of control(dispatcher).stream<{ type: string, id?: string }>('push', {
    text: JSON.stringify(task), name: 'scale-task.json', baseDir: ctx.workdir, tags: [], target: { peer: runner.id }, all: false, waitMs: 30_000, detach: true, follow: false
  }, { timeoutMs: 30_000 })) {
    if (ev.type === 'submitted') id = ev.id
  }
  if (id == null) { console.error('  push gave no task id'); return undefined }
  const taskId = id
  const answered = new Map<string, { at: number, openedAt: number, record: TaskRecord }>()
  const abort = new AbortController()
  const timer = setTimeout(() => { abort.abort() }, 60_000 + sleepS * 1000)
  try {
    await Promise.all(all.map(async h => {
      const c = control(h)
      while (!abort.signal.aborted) {
        const openedAt = Date.now()
        try {
          const record = await c.call<TaskRecord>('wait', { id: taskId }, { timeoutMs: 0, signal: abort.signal })
          answered.set(h.name, { at: Date.now(), openedAt, record })
          return
        } catch {
          // not known here yet: the queued record is still on its way
          await sleep(200)
        }
      }
    }))
  } finally {
    clearTimeout(timer)
  }
  const mine = answered.get(runner.name)
  if (mine == null) { console.error(`  the runner ${runner.name} never answered for ${taskId}`); return undefined }
  const finishedAt = Date.parse(mine.record.finishedAt ?? '')
  const late: string[] = []
  const delayMs: number[] = []
  for (const h of all) {
    if (h === runner) continue
    const a = answered.get(h.name)
    if (a == null) { late.push(`${h.name} (no answer)`); continue }
    if (a.openedAt > finishedAt) { late.push(h.name); continue }
    delayMs.push(a.at - finishedAt)
  }
  const d = answered.get(dispatcher.name)
  return {
    rep,
    runner: runner.name,
    runnerStoreMs: mine.at - finishedAt,
    delayMs,
    directMs: d != null && d.openedAt <= finishedAt ? d.at - finishedAt : NaN,
    late,
    from: 'finishedAt'
  }
}

// ---------------------------------------------------------------- report

const PLOTS = {
  join: 'scale-join',
  joinDist: 'scale-join-dist',
  result: 'scale-result',
  resultDist: 'scale-result-dist',
  idleCpu: 'scale-idle-cpu',
  idleRss: 'scale-idle-rss'
}

function everyJoin (s: SizeResult): number[] { return s.join.filter(j => j.missing.length === 0).map(j => max(j.foundMs)) }
function everyResult (s: SizeResult): number[] { return s.result.map(r => max(r.delayMs)) }
/** a row's name: the size, and which run of it when a size ran more than once */
function label (s: SizeResult, r: Results): string {
  return r.sizes.filter(x => x.size === s.size).length > 1 ? `${s.size} (run ${s.run ?? '?'})` : String(s.size)
}

/** the runs of each size, smallest size first (the results are sorted by size) */
function bySize (sizes: SizeResult[]): Array<[number, SizeResult[]]> {
  const groups = new Map<number, SizeResult[]>()
  for (const s of sizes) groups.set(s.size, [...(groups.get(s.size) ?? []), s])
  return [...groups]
}

/** one point per size (by default the median over its runs) for line plots */
function perSize (sizes: SizeResult[], f: (s: SizeResult) => number, over: (xs: number[]) => number = median): Array<[number, number]> {
  return bySize(sizes).map(([n, runs]) => [n, over(runs.map(f).filter(Number.isFinite))] as [number, number])
    .filter(p => Number.isFinite(p[1]))
}

function ratio (x: number, base: number): string { return Number.isFinite(x) && Number.isFinite(base) && base > 0 ? `${fmtNum(x / base, 2)}×` : '-' }

async function plots (r: Results, write: boolean): Promise<{ links: string[], note?: string }> {
  if (!write) return { links: [] }
  const lib = await loadPlots()
  if (typeof lib === 'string') return { links: [], note: lib }
  const ok = r.sizes.filter(s => s.error == null || s.join.length > 0)
  const pts = (f: (s: SizeResult) => number): Array<[number, number]> => perSize(ok, f)
  /** every value of one size, all its runs together */
  const boxes = (f: (s: SizeResult) => number[]): Array<{ label: string, values: number[] }> =>
    bySize(ok).map(([n, runs]) => ({ label: `${n} daemons`, values: runs.flatMap(f) }))
  const links: string[] = []
  const put = async (lib2: PlotLib, name: string, title: string, svg: string): Promise<void> => {
    const path = await lib2.writePlot(name, svg)
    links.push(`[${title}](${path})`)
  }
  await put(lib, PLOTS.join, 'join vs size', lib.linePlotSvg('New node found by members vs mesh size', 'daemons', 'seconds after ready', [
    { label: 'every member (median of runs)', points: pts(s => median(everyJoin(s)) / 1000) },
    { label: 'median member', points: pts(s => median(s.join.flatMap(j => j.foundMs)) / 1000) }
  ]))
  await put(lib, PLOTS.joinDist, 'join distribution', lib.boxPlotSvg('New node found: every member, every run', 's', boxes(s => s.join.flatMap(j => j.foundMs).map(x => x / 1000))))
  await put(lib, PLOTS.result, 'result vs size', lib.linePlotSvg('Result record reaches members vs mesh size', 'daemons', 'ms after the task ended (finishedAt)', [
    { label: 'every member (median of runs)', points: pts(s => median(everyResult(s))) },
    { label: 'median member', points: pts(s => median(s.result.flatMap(x => x.delayMs))) },
    { label: 'dispatcher (direct peer)', points: pts(s => median(s.result.map(x => x.directMs).filter(Number.isFinite))) }
  ]))
  await put(lib, PLOTS.resultDist, 'result distribution', lib.boxPlotSvg('Result record delay: every member, every run', 'ms', boxes(s => s.result.flatMap(x => x.delayMs))))
  await put(lib, PLOTS.idleCpu, 'idle CPU vs size', lib.linePlotSvg('Idle CPU vs mesh size', 'daemons', '% of one core', [
    { label: 'per daemon (median)', points: pts(s => median(s.idle?.cpuPct ?? [])) },
    { label: 'machine busy, % of all cores', points: pts(s => (s.idle?.machineBusy ?? NaN) * 100) }
  ]))
  await put(lib, PLOTS.idleRss, 'idle memory vs size', lib.linePlotSvg('Idle resident memory per daemon vs mesh size', 'daemons', 'MiB', [
    { label: 'median', points: pts(s => median(s.idle?.rssMiB ?? [])) },
    { label: 'max', points: perSize(ok, s => max(s.idle?.rssMiB ?? []), max) }
  ]))
  return { links }
}

function render (r: Results, plotLinks: string[], plotNote: string | undefined): string {
  const f = r.facts
  const base = r.sizes[0]
  // the baseline is the smallest size, all its runs together
  const baseRuns = r.sizes.filter(s => s.size === base?.size)
  const runs = Math.max(...r.sizes.map(s => s.run ?? 1), 1)
  const cores = f.nproc * 100
  const rowsStart = r.sizes.map(s => [
    label(s, r), `${s.started}/${s.size - 1}${s.failed.length > 0 ? ` (${s.failed.length} failed)` : ''}`, fmtS(s.startMs),
    `${s.converge.converged ? '' : 'NOT '}${fmtS(s.converge.ms)}`, `${s.converge.minSeen}/${s.converge.expect}`,
    s.contacts == null ? '–' : `${fmtMs(s.contacts.medianMs)} / ${fmtMs(s.contacts.p95Ms)} / ${fmtMs(s.contacts.maxMs)}`,
    s.contacts == null ? '–' : `${s.contacts.over5s} of ${s.contacts.pairs}${s.contacts.missing > 0 ? ` (${s.contacts.missing} never)` : ''}`,
    s.contacts == null ? '–' : fmtS(s.contacts.lastMs)
  ])
  const joinBase = median(baseRuns.flatMap(everyJoin))
  const rowsJoin = r.sizes.map(s => {
    const every = summarize(everyJoin(s))
    const per = s.join.flatMap(j => j.foundMs)
    return [
      label(s, r), `${s.join.filter(j => j.missing.length === 0).length}/${s.join.length}`,
      fmtS(median(s.join.map(j => j.spawnToReadyMs))),
      fmtS(median(per)), fmtS(p95(per)),
      fmtS(every.median), fmtS(every.p95), `${fmtS(every.min)}–${fmtS(every.max)}`,
      ratio(every.median, joinBase),
      fmtMs(max(s.join.map(j => j.pollRoundMs))),
      `${fmtNum(s.joinCpu.membersPct, 0)} % / ${fmtNum(s.joinCpu.machineBusy * 100, 0)} %`
    ]
  })
  const resBase = median(baseRuns.flatMap(everyResult))
  const rowsRes = r.sizes.map(s => {
    const every = summarize(everyResult(s))
    const per = s.result.flatMap(x => x.delayMs)
    const direct = median(s.result.map(x => x.directMs).filter(Number.isFinite))
    return [
      label(s, r), String(s.result.length),
      fmtMs(direct), fmtMs(median(per)), fmtMs(p95(per)),
      fmtMs(every.median), fmtMs(every.p95), `${fmtMs(every.min)}–${fmtMs(every.max)}`,
      ratio(every.median, direct), ratio(every.median, resBase),
      String(s.result.reduce((n, x) => n + x.late.length, 0))
    ]
  })
  const rssBase = median(baseRuns.flatMap(s => s.idle?.rssMiB ?? []))
  const cpuBase = median(baseRuns.flatMap(s => s.idle?.cpuPct ?? []))
  const rowsIdle = r.sizes.filter(s => s.idle != null).map(s => {
    const i = s.idle as IdleFigures
    const total = i.cpuPct.reduce((a, b) => a + b, 0)
    return [
      label(s, r), String(i.cpuPct.length),
      `${fmtNum(median(i.rssMiB))} MiB`, `${fmtNum(min(i.rssMiB))}–${fmtNum(max(i.rssMiB))} MiB`, ratio(median(i.rssMiB), rssBase),
      `${fmtNum(median(i.cpuPct), 2)} %`, `${fmtNum(min(i.cpuPct), 2)}–${fmtNum(max(i.cpuPct), 2)} %`, ratio(median(i.cpuPct), cpuBase),
      `${fmtNum(total, 0)} % of ${cores} %`, `${fmtNum(i.machineBusy * 100, 0)} %`, fmtNum(i.loadAvg)
    ]
  })
  const raw = r.sizes.map(s => `- ${label(s, r)} daemons: join ${s.join.map(j => `[ready ${fmtS(j.spawnToReadyMs)}; every ${fmtS(max(j.foundMs))}${j.missing.length > 0 ? `; ${j.missing.length} never` : ''}]`).join(' ')}; result ${s.result.map(x => `[${x.runner}: direct ${fmtMs(x.directMs)}, every ${fmtMs(max(x.delayMs))}${x.late.length > 0 ? `, ${x.late.length} late` : ''}]`).join(' ')}`)

  const notes: string[] = []
  for (const s of r.sizes) {
    if (s.error != null) notes.push(`- size ${label(s, r)}: stopped with an error after ${s.started} of ${s.size - 1} daemons started: ${s.error}`)
    if (s.stoppedEarly != null) notes.push(`- size ${label(s, r)}: starting stopped early: ${s.stoppedEarly}`)
    for (const fl of s.failed.slice(0, 5)) notes.push(`- size ${label(s, r)}: ${fl.host} did not start: ${fl.error}`)
    if (s.idle != null && s.idle.machineBusy > 0.8) {
      notes.push(`- size ${label(s, r)}: **CPU-bound** — the machine was ${fmtNum(s.idle.machineBusy * 100, 0)} % busy (all ${f.nproc} cores) while the ${s.idle.daemons} daemons idled (they alone: ${fmtNum(s.idle.cpuPct.reduce((a, b) => a + b, 0), 0)} % of one core; load average ${fmtNum(s.idle.loadAvg)}); every time at this size includes waiting for a CPU`)
    }
    for (const j of s.join) if (j.missing.length > 0) notes.push(`- size ${label(s, r)}, join ${j.rep}: ${j.missing.length} members never listed the newcomer within 120 s (${j.missing.slice(0, 6).join(', ')}${j.missing.length > 6 ? ', …' : ''})`)
    for (const x of s.result) if (x.late.length > 0) notes.push(`- size ${label(s, r)}, result ${x.rep}: ${x.late.length} members learnt of the task only after it ended (left out): ${x.late.slice(0, 6).join(', ')}`)
    notes.push(...s.notes.map(n => `- ${n}${label(s, r) !== String(s.size) ? ` (run ${s.run ?? '?'})` : ''}`))
  }
  if (r.logs.length > 0) {
    notes.push('- daemon log lines at warn or above, over every daemon of the run:')
    for (const [k, n] of r.logs.slice(0, 12)) notes.push(`  - ${n} × ${k}`)
  }
  const profiles = r.sizes.filter(s => s.profile != null).map(s => {
    const p = s.profile as NonNullable<SizeResult['profile']>
    const pct = (ms: number): string => `${fmtNum(ms / p.summary.busyMs * 100, 0)} %`
    return `- **${label(s, r)} daemons** (${p.host}, idle window, busy ${fmtNum(p.summary.busyMs / p.summary.totalMs * 100, 1)} % of the wall time): by package ${p.summary.packages.slice(0, 8).map(([k, ms]) => `${k} ${pct(ms)}`).join(', ')}; functions (self) ${p.summary.functions.slice(0, 8).map(([k, ms]) => `\`${k}\` ${pct(ms)}`).join(', ')}; mesh (inclusive) ${p.summary.own.slice(0, 6).map(([k, ms]) => `\`${k}\` ${pct(ms)}`).join(', ')}`
  })

  return `## Scale: 10, 25, 50 daemons on separate network namespaces (\`npm run bench:scale\`)

Run ${f.date.replace(/\.\d+Z$/, 'Z')} on ${f.nproc} cores (${f.cpuModel}), ${fmtNum(f.memTotalGiB)} GiB RAM, Node ${f.node},
Linux ${f.kernel}; code measured: ${r.meshMain === BUILT_MAIN ? `this checkout, commit ${f.commit}` : `\`MESH_MAIN=${r.meshMain}\``}; ${fmtS(r.durationMs)} in all.
Arguments: \`${r.argv.length > 0 ? r.argv.join(' ') : '(defaults)'}\`. Every daemon in its own network namespace (its own
IP 10.213.0.K on one bridge, port 7420, swarm key, no mDNS, ${heartbeatNote()}), all on this one
machine: **N daemons share ${f.nproc} cores**, so the CPU columns matter as much as the times. Each size
runs on a fresh lab${runs > 1 ? `, ${runs} times (rows "N (run k)"; the sizes took turns, so a machine getting busier shifts them alike)` : ''}; host1 is everyone's bootstrap (host2 too for hosts 3…), daemons started ${r.concurrency} at a time.

${mdTable(['mesh size', 'daemons up', 'start-up', 'all see all online after', 'fewest others seen online', 'first contact per pair: median / p95 / max', 'pairs over 5 s', 'last pair after the last start'], rowsStart)}

*All see all online after* counts from the last daemon's start returning, with every peer table
polled every 3 s. *First contact* is read from the daemons' logs instead: per ordered pair of
daemons, from the later one's \`mesh daemon started\` line to the observer's first \`peer online\`
line about the other (one clock: one machine). It can be negative: a daemon advertises itself and
pulls the roster before it logs that it has started.

### (a) A new node's tag, found by every member

Per newcomer, a NEW daemon (fresh home, key and unique tag) starts on host N and bootstraps to host1;
every member's peer table (control socket \`peers\`, what \`mesh peers\` prints) is read about once a
second until it lists the newcomer with its tag. *Found* is the member's own \`lastSeen\` of that row
— the moment it stored a heartbeat of the newcomer — measured from the newcomer's \`mesh start
--detach\` returning (ready); a member that polls late still reports the heartbeat's time, so the
resolution is the heartbeat (2 s) only when a poll round took longer than that (column *poll round*).
Baseline: the ${base?.size ?? '-'}-daemon ${runs > 1 ? 'rows (all runs)' : 'row'} of this benchmark.

${mdTable(['mesh size', 'newcomers (found by all)', 'spawn → ready', 'per member: median', 'p95', 'every member: median', 'p95', 'min–max (spread)', '÷ baseline', 'poll round (max)', 'members\' CPU / machine busy'], rowsJoin)}

*per member*: all (member, newcomer) pairs; *every member*: per newcomer the last member to find it.
*members' CPU*: all daemons together during the runs (polls included), % of one core (the
machine has ${cores} %); *machine busy*: all cores, from /proc/stat.

### (b) A result record, from the runner to every member

A task (\`sleep S\`, S = max(3, N/8) s, so every member knows the task before it ends) is pushed from
host1 to one runner (hosts 4…, in turn). Every member holds a \`wait\` call on its control socket,
which the daemon answers when it stores the final record (pushed, not polled). Delay = a member's
answer − the record's \`finishedAt\` (the runner's clock when the task ended; it then seals, stores
and gossips the record; one machine, one clock). The runner's own answer came
${fmtMs(median(r.sizes.flatMap(s => s.result.map(x => x.runnerStoreMs))))} (median) after \`finishedAt\`
(${bySize(r.sizes).map(([n, runs]) => `${n}: ${fmtMs(median(runs.flatMap(s => s.result.map(x => x.runnerStoreMs))))}`).join(', ')}).
Baseline: host1, the dispatcher, which is directly connected to the runner (it pushed the task
there); *÷ direct* compares the last member with it, *÷ baseline* with the ${base?.size ?? '-'}-daemon ${runs > 1 ? 'rows (all runs)' : 'row'}.

${mdTable(['mesh size', 'tasks', 'direct peer (median)', 'per member: median', 'p95', 'every member: median', 'p95', 'min–max (spread)', '÷ direct', '÷ baseline', 'late (left out)'], rowsRes)}

### (c) Idle daemons

After the joins (the last newcomer stays, so N daemons; the ${Math.max(0, Math.max(1, ...r.sizes.map(s => s.join.length)) - 1)} earlier
newcomers are offline entries in every table), 10 s to settle, then CPU (utime+stime over
${fmtNum(r.sizes.find(s => s.idle != null)?.idle?.seconds ?? NaN, 0)} s) and VmRSS of every daemon${r.sizes.some(s => s.profile != null) ? ` except host${PROFILED}, which runs with --cpu-prof` : ''}. Baseline: the ${base?.size ?? '-'}-daemon ${runs > 1 ? 'rows (all runs)' : 'row'}.

${mdTable(['mesh size', 'daemons', 'RSS median', 'RSS min–max', 'RSS ÷ baseline', 'CPU median (% of a core)', 'CPU min–max', 'CPU ÷ baseline', 'all daemons', 'machine busy', 'load (1 min)'], rowsIdle)}

${plotLinks.length > 0 ? `Plots: ${plotLinks.join(' · ')}.` : `Plots: ${plotNote ?? 'not written (--no-write)'}.`}

### Where an idle daemon's CPU goes (\`--cpu-prof\` of host${PROFILED}, idle window)

${profiles.length > 0 ? profiles.join('\n') : '- no profile (run without --no-cpu-prof)'}

<details><summary>every run</summary>

${raw.join('\n')}

</details>

### Notes

${notes.length > 0 ? notes.join('\n') : '- nothing unusual.'}`
}

// ---------------------------------------------------------------- main

async function main (argv: string[]): Promise<number> {
  const start = await benchStart('bench:scale', argv, parse, HELP, 'lab homes, logs and profiles')
  if (typeof start === 'number') return start
  const { opts, reaper, workdir, started } = start
  const facts = machineFacts(REPO_ROOT)
  const jsonFile = join(REPO_ROOT, 'docs', 'bench', 'scale-results.json')
  try {
    let results: Results
    if (opts.replot != null) {
      results = JSON.parse(await readFile(opts.replot, 'utf8')) as Results
      for (const s of results.sizes) {
        for (const x of s.result) {
          if (x.from === 'finishedAt') continue
          // first version: delays from the runner's own answer, which a CPU-starved runner gives late
          x.delayMs = x.delayMs.map(d => d + x.runnerStoreMs)
          x.directMs += x.runnerStoreMs
          x.from = 'finishedAt'
        }
      }
    } else {
      const problem = netnsProblem()
      if (problem != null) {
        console.error(`bench:scale: ${problem}`)
        return 1
      }
      console.log(`bench:scale: ${facts.nproc} cores, Node ${facts.node}, sizes ${opts.sizes.join(', ')} × ${opts.runs} runs; work dir ${workdir}`)
      const ctx: Ctx = { opts, reaper, workdir }
      results = { facts, concurrency: opts.concurrency, argv, meshMain: MESH_MAIN, sizes: [], logs: [], durationMs: 0 }
      for (let run = 1; run <= opts.runs; run++) {
        for (const size of opts.sizes) {
          console.log(`\n[scale ${size}] run ${run} of ${opts.runs}`)
          results.sizes.push({ ...await measureSize(ctx, size, run), run })
          for (const h of exitHandlers.splice(0)) process.removeListener('exit', h)
          if (reaper.interrupted) return new Promise<number>(() => {})
        }
      }
      // the tables list each size's runs together
      results.sizes.sort((a, b) => a.size - b.size || (a.run ?? 0) - (b.run ?? 0))
      results.logs = [...logCounts].sort((a, b) => b[1] - a[1])
      results.durationMs = performance.now() - started
      if (opts.write) {
        await mkdir(join(REPO_ROOT, 'docs', 'bench'), { recursive: true })
        await writeFile(jsonFile, JSON.stringify(results, null, 1) + '\n')
        console.log(`raw figures: ${relative(REPO_ROOT, jsonFile)}`)
      }
    }
    const p = await plots(results, opts.write)
    const section = render(results, p.links, p.note)
    await publishSection(opts, SECTION, section, results.facts)
    return results.sizes.some(s => s.error != null) ? 1 : 0
  } catch (err) {
    return await benchFailed('bench:scale', start, err)
  } finally {
    if (!reaper.interrupted) await reaper.cleanup()
  }
}

process.exitCode = await main(process.argv.slice(2))
