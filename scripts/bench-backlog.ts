/**
 * Backlog benchmark: a burst of tasks larger than the one runner that can take them — a job array,
 * or a queue that built up while the runner was busy. One dispatcher and one runner advertising a
 * big machine (a fake sysfs: --cores cores on one NUMA node; the tasks are `sleep`, so this
 * machine's own cores are not the limit), on 127.0.0.1 with a swarm key and default settings.
 *
 * Each mesh round pushes --tasks tasks of `sleep --seconds` at once over the dispatcher's control
 * socket (as that many waiting `mesh push` processes do) and times until every result is back.
 * Baseline: the same sleeps spawned here --cores at a time, a perfect scheduler on this machine.
 * Rounds alternate, and every mesh round runs on a mesh started for it. --compare-main adds a second
 * build, alternating with this one, for before/after figures in one run.
 *
 * Rewrites the section between <!-- bench:backlog:start --> and <!-- bench:backlog:end --> of
 * BENCHMARKS.md, and docs/bench/backlog-start.svg.
 */
import { spawn } from 'node:child_process'
import { cp, mkdir, writeFile } from 'node:fs/promises'
import { loadavg } from 'node:os'
import { join, resolve } from 'node:path'
import { performance } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import { parseArgs } from 'node:util'
import { createControlClient } from '../src/node/control/index.js'
import { benchFailed, benchStart } from './lib/bench-main.js'
import { warnings } from './lib/daemon-logs.js'
import { linePlotSvg, writePlot } from './lib/plot.js'
import { BUILT_MAIN, MESH_MAIN, REPO_ROOT, mesh, startForeground, stopGroup } from './lib/proc.js'
import { machineFacts } from './lib/procfs.js'
import { defaultTimings, fmtNum, fmtS, mdTable, publishSection } from './lib/report.js'
import { median, summarize } from './lib/stats.js'
import { runPool } from './lib/pool.js'
import { whole } from './lib/args.js'
import type { ControlClient } from '../src/node/control/index.js'
import type { PushParams } from '../src/node/api.js'
import type { DispatchEvent } from '../src/node/dispatch/index.js'
import type { PeerEntry } from '../src/node/views.js'
import type { TaskRecord } from '../src/protocols/results/index.js'
import type { ForegroundDaemon, Reaper } from './lib/proc.js'

const SECTION = 'bench:backlog'
const TAG = 'backlog'

const HELP = `Usage: npm run bench:backlog -- [options]

Starts, for each mesh round, a dispatcher and one runner tagged '${TAG}' that advertises --cores
cores (a fake sysfs) on 127.0.0.1, pushes --tasks tasks of 'sleep --seconds' at once through the
dispatcher's control socket, and times until every result is back; baseline: the same sleeps
spawned locally, --cores at a time. Rewrites the bench:backlog section of BENCHMARKS.md.
About 2 minutes with the defaults.

Options:
  --tasks 160           tasks per round (the control socket serves 1024 clients at once)
  --seconds 2           each task runs 'sleep SECONDS'
  --cores 32            cores the runner advertises (each task asks for 1)
  --rounds 3            rounds of each (local, mesh, and the --compare-main build), alternating
  --compare-main PATH   a second build's dist/src/cli/main.js, measured alternately with this one
  --out FILE            report file (default BENCHMARKS.md in the repository)
  --no-write            print the report, do not touch the file
  --keep                keep homes and logs (in a temp folder) afterwards
  -h, --help            this text

Set MESH_MAIN=/path/to/dist/src/cli/main.js to measure another build.`

interface Options {
  tasks: number
  seconds: number
  cores: number
  rounds: number
  compareMain?: string
  out: string
  write: boolean
  keep: boolean
}

function parse (argv: string[]): Options | 'help' {
  const { values } = parseArgs({
    args: argv,
    options: {
      tasks: { type: 'string', default: '160' },
      seconds: { type: 'string', default: '2' },
      cores: { type: 'string', default: '32' },
      rounds: { type: 'string', default: '3' },
      'compare-main': { type: 'string' },
      out: { type: 'string', default: join(REPO_ROOT, 'BENCHMARKS.md') },
      'no-write': { type: 'boolean', default: false },
      keep: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false }
    }
  })
  if (values.help) return 'help'
  const seconds = Number(values.seconds)
  if (!Number.isFinite(seconds) || seconds <= 0 || seconds > 60) throw new Error(`--seconds: expected a number of seconds in (0, 60] (got '${values.seconds}')`)
  const tasks = whole('--tasks', values.tasks, 1)
  if (tasks > 1000) throw new Error(`--tasks: at most 1000 (the control socket serves 1024 clients at once; got ${tasks})`)
  return {
    tasks,
    seconds,
    cores: whole('--cores', values.cores, 1),
    rounds: whole('--rounds', values.rounds, 1),
    ...(values['compare-main'] != null ? { compareMain: resolve(values['compare-main']) } : {}),
    out: resolve(values.out),
    write: !values['no-write'],
    keep: values.keep
  }
}

interface Ctx {
  workdir: string
  swarmKey: string
  sysfs: string
  reaper: Reaper
  opts: Options
}

/** A one-NUMA-node machine of `cores` cores in a folder, for the runner's MESH_SYSFS_ROOT. */
async function fakeMachine (dir: string, cores: number): Promise<void> {
  await cp(join(REPO_ROOT, 'test', 'fixtures', 'sysfs', 'one-node'), dir, { recursive: true })
  const list = cores === 1 ? '0\n' : `0-${cores - 1}\n`
  await writeFile(join(dir, 'sys', 'devices', 'system', 'cpu', 'online'), list)
  await writeFile(join(dir, 'sys', 'devices', 'system', 'node', 'node0', 'cpulist'), list)
}

// ---------------------------------------------------------------- one round

interface Build {
  label: string
  main: string
}

interface MeshRound {
  wallMs: number
  /** per task: the burst's start → the task's process started (the record's startedAt), ms */
  startDelays: number[]
  ok: number
  /** tasks whose result came from attempt 2 or later: an offer was lost or unsure */
  retried: number
  failures: string[]
  /** the burst's start → the dispatcher has every task (submitted), ms */
  submittedMs: number
}

interface LocalRound {
  wallMs: number
  startDelays: number[]
}

async function startDaemon (ctx: Ctx, build: Build, name: string, args: string[], env: NodeJS.ProcessEnv): Promise<ForegroundDaemon> {
  const home = join(ctx.workdir, name)
  await mkdir(home, { recursive: true, mode: 0o700 })
  await writeFile(join(home, 'config.json'), JSON.stringify({ version: 1, name }), { mode: 0o600 })
  return await startForeground({
    home,
    main: build.main,
    args: ['--listen', '/ip4/127.0.0.1/tcp/0', '--no-mdns', '--swarm-key', ctx.swarmKey, ...args],
    env,
    logFile: join(home, 'daemon.log'),
    reaper: ctx.reaper,
    readyTimeoutMs: 90_000
  })
}

async function untilRunnerOnline (client: ControlClient, cores: number): Promise<void> {
  const started = performance.now()
  while (performance.now() - started < 60_000) {
    const peers = await client.call<PeerEntry[]>('peers', {}).catch(() => [])
    if (peers.some(p => !p.self && p.state === 'online' && p.tags.includes(TAG))) return
    await sleep(200)
  }
  throw new Error(`the dispatcher does not see the ${cores}-core runner online after 60 s`)
}

function sleepTask (seconds: number): PushParams {
  return {
    text: JSON.stringify({ command: ['sleep', String(seconds)] }),
    name: 'backlog',
    baseDir: '/tmp',
    tags: [TAG],
    all: false,
    waitMs: 600_000,
    detach: false,
    follow: false
  }
}

/** One push over the control socket, as a waiting `mesh push` holds it; the final record. */
async function pushAndWait (client: ControlClient, params: PushParams): Promise<TaskRecord> {
  let record: TaskRecord | undefined
  for await (const ev of client.stream<DispatchEvent>('push', params, { timeoutMs: 60_000 })) {
    if (ev.type === 'unplaceable') throw new Error(`task ${ev.id} unplaceable: ${ev.reason}`)
    if (ev.type === 'result') record = ev.record
  }
  if (record == null) throw new Error('the push stream ended without a result')
  return record
}

async function meshRound (ctx: Ctx, build: Build, label: string): Promise<MeshRound> {
  const { opts } = ctx
  const daemons: ForegroundDaemon[] = []
  try {
    const d = await startDaemon(ctx, build, `${label}-dispatcher`, [], {})
    daemons.push(d)
    daemons.push(await startDaemon(ctx, build, `${label}-runner`, ['--tags', TAG, '--bootstrap', d.addr], { MESH_SYSFS_ROOT: ctx.sysfs }))
    const client = createControlClient({ path: join(d.home, 'mesh.sock'), home: d.home })
    await untilRunnerOnline(client, opts.cores)
    // connections and streams open on the first tasks; not measured
    await Promise.all(Array.from({ length: 4 }, async () => pushAndWait(client, sleepTask(0.1))))
    const params = sleepTask(opts.seconds)
    const t0 = performance.now()
    const epoch0 = performance.timeOrigin + t0
    const round: MeshRound = { wallMs: 0, startDelays: [], ok: 0, retried: 0, failures: [], submittedMs: NaN }
    const results = await Promise.allSettled(Array.from({ length: opts.tasks }, async () => pushAndWait(client, params)))
    round.wallMs = performance.now() - t0
    const submitted: number[] = []
    for (const r of results) {
      if (r.status === 'rejected') {
        round.failures.push((r.reason as Error).message)
        continue
      }
      const rec = r.value
      if (rec.state !== 'succeeded') round.failures.push(`${rec.id}: ${rec.state} ${rec.error ?? ''}`.trim())
      else round.ok++
      if (rec.attempt > 1) round.retried++
      if (rec.startedAt != null) round.startDelays.push(Date.parse(rec.startedAt) - epoch0)
      submitted.push(Date.parse(rec.submittedAt) - epoch0)
    }
    round.submittedMs = Math.max(...submitted)
    return round
  } finally {
    await Promise.all(daemons.map(async x => stopGroup(x.pid)))
  }
}

async function localRound (opts: Options): Promise<LocalRound> {
  const t0 = performance.now()
  const startDelays = await runPool(opts.tasks, opts.cores, async () => {
    const started = performance.now() - t0
    await new Promise<void>((resolve, reject) => {
      const child = spawn('sleep', [String(opts.seconds)], { stdio: 'ignore' })
      child.once('error', reject)
      child.once('exit', code => {
        if (code === 0) resolve()
        else reject(new Error(`sleep exited with ${code ?? 'a signal'}`))
      })
    })
    return started
  })
  return { wallMs: performance.now() - t0, startDelays }
}

// ---------------------------------------------------------------- report

interface Results {
  builds: Build[]
  local: LocalRound[]
  mesh: MeshRound[][]
  load: { start: number[], end: number[] }
  logs: Map<string, number>
  plot?: string
  durationMs: number
}

/** ms after the burst by which the first `cores` tasks had all started */
function firstWave (delays: number[], cores: number): number {
  const sorted = [...delays].sort((a, b) => a - b)
  return sorted[Math.min(cores, sorted.length) - 1] ?? NaN
}

/** the round whose wall time is the median of its series */
function medianRound<R extends { wallMs: number }> (rounds: R[]): R | undefined {
  return [...rounds].sort((a, b) => a.wallMs - b.wallMs)[Math.floor((rounds.length - 1) / 2)]
}

/** (s after the burst, tasks started by then): steps show the waves, flat stretches idle slots */
function startCurve (round: { startDelays: number[] } | undefined): Array<[number, number]> {
  const delays = [...(round?.startDelays ?? [])].sort((a, b) => a - b)
  return [[0, 0], ...delays.map((ms, i): [number, number] => [ms / 1000, i + 1])]
}

function buildLabel (main: string): string {
  return main === BUILT_MAIN ? 'this checkout' : `\`${main}\``
}

function render (r: Results, opts: Options, facts: ReturnType<typeof machineFacts>, argv: string[]): string {
  const la = (x: number[]): string => x.map(v => v.toFixed(2)).join(' ')
  const waves = Math.ceil(opts.tasks / opts.cores)
  const local = summarize(r.local.map(x => x.wallMs))
  const rows: string[][] = [[`${opts.tasks} × \`sleep ${opts.seconds}\` spawned here, ${opts.cores} at a time`, String(r.local.length), fmtS(local.median), `${fmtS(local.min)} – ${fmtS(local.max)}`, fmtS(local.spread), '-', '-', '1.0× (baseline)']]
  const lines: string[] = []
  r.builds.forEach((b, i) => {
    const rounds = r.mesh[i] ?? []
    const wall = summarize(rounds.map(x => x.wallMs))
    const delays = rounds.flatMap(x => x.startDelays)
    const d = summarize(delays)
    rows.push([`mesh, ${b.label}: ${opts.tasks} pushes at once, one ${opts.cores}-core runner`, String(rounds.length), fmtS(wall.median), `${fmtS(wall.min)} – ${fmtS(wall.max)}`, fmtS(wall.spread),
      `${rounds.reduce((n, x) => n + x.ok, 0)}/${opts.tasks * rounds.length}`, String(rounds.reduce((n, x) => n + x.retried, 0)), `${fmtNum(wall.median / local.median, 2)}×`])
    lines.push(`- mesh, ${b.label}: the last of the ${opts.tasks} tasks started ${fmtS(d.max)} after the burst (median task ${fmtS(d.median)}, p95 ${fmtS(d.p95)}); ` +
      `the dispatcher held all ${opts.tasks} after ${fmtS(median(rounds.map(x => x.submittedMs)))} (median of rounds); the first wave of ${Math.min(opts.cores, opts.tasks)} ` +
      `had all started after ${fmtS(median(rounds.map(x => firstWave(x.startDelays, opts.cores))))} (local: ${fmtS(median(r.local.map(x => firstWave(x.startDelays, opts.cores))))}); ` +
      `rounds ${rounds.map(x => fmtS(x.wallMs)).join(', ')}.`)
  })
  lines.push(`- Where the rest goes: the runner launches the tasks of a wave one after another (a signed offer checked, a reservation, a work dir, a process
  spawned through \`numactl\`, a signed \`running\` record), on ${facts.nproc} cores shared with the dispatcher, so a wave starts over a span instead of at once;
  a slot freed by a task is refilled once its signed result reaches the dispatcher.`)
  const failures = r.mesh.flat().flatMap(x => x.failures)
  const notes = [
    ...(failures.length > 0 ? [`${failures.length} tasks failed, e.g. ${failures.slice(0, 3).join('; ')}`] : []),
    ...[...r.logs].sort((a, b) => b[1] - a[1]).slice(0, 10).map(([k, n]) => `${n} × daemon log line: ${k}`)
  ]
  return `## A backlog on one big runner (\`npm run bench:backlog\`)

Run ${facts.date.replace(/\.\d+Z$/, 'Z')} on ${facts.nproc} cores (${facts.cpuModel}), Node ${facts.node}; code measured:
${MESH_MAIN === BUILT_MAIN ? `this checkout, commit ${facts.commit}` : `\`MESH_MAIN=${MESH_MAIN}\``}${r.builds.length > 1 ? ` against ${r.builds.slice(1).map(b => b.label).join(', ')}` : ''}; ${fmtS(r.durationMs)} in all.
Arguments: \`${argv.length > 0 ? argv.join(' ') : '(defaults)'}\`. Load average (1/5/15 min) at the start ${la(r.load.start)}, at the end ${la(r.load.end)}.

**Set-up.** A job array, or a queue that built up while its runner was busy: ${opts.tasks} tasks of
\`sleep ${opts.seconds}\` (1 core each) pushed at once over a dispatcher's control socket, as that many
waiting \`mesh push\` processes would, with one runner that can take them: it advertises ${opts.cores} cores on one
NUMA node (a fake sysfs; the tasks sleep, so this machine's own cores are not the limit). Two daemons on
127.0.0.1 (swarm key, default settings: ${defaultTimings()}), started afresh for every mesh round, after
4 unmeasured tasks. A round ends when every result is back at the dispatcher. Baseline: the same sleeps spawned
by this process ${opts.cores} at a time — a perfect scheduler, ${waves} waves of ${opts.seconds} s. Rounds alternate.

${mdTable(['what', 'rounds', 'wall median', 'min – max', 'spread', 'succeeded', 'retried (attempt > 1)', 'median ÷ baseline'], rows)}

${lines.join('\n')}
${r.plot != null ? `\nTasks started against time since the burst, the median round of each: [${r.plot}](${r.plot}).\n` : ''}
### Notes

${notes.length > 0 ? notes.map(n => `- ${n}`).join('\n') : '- nothing unusual: every task succeeded and no daemon logged a warning or error.'}`
}

// ---------------------------------------------------------------- main

async function main (argv: string[]): Promise<number> {
  const start = await benchStart('bench:backlog', argv, parse, HELP)
  if (typeof start === 'number') return start
  const { opts, reaper, workdir, started } = start
  const ctx: Ctx = { workdir, swarmKey: join(workdir, 'swarm.key'), sysfs: join(workdir, 'sysfs'), reaper, opts }
  const facts = machineFacts(REPO_ROOT)
  const builds: Build[] = [{ label: buildLabel(MESH_MAIN), main: MESH_MAIN }]
  if (opts.compareMain != null) builds.push({ label: buildLabel(opts.compareMain), main: opts.compareMain })
  const results: Results = { builds, local: [], mesh: builds.map(() => []), load: { start: loadavg(), end: [] }, logs: new Map(), durationMs: 0 }
  console.log(`bench:backlog: ${opts.tasks} × sleep ${opts.seconds} on a ${opts.cores}-core runner, ${opts.rounds} rounds, builds: ${builds.map(b => b.label).join(', ')}; work dir ${workdir}`)
  try {
    const key = await mesh(['swarm-key', '--out', ctx.swarmKey], { reaper })
    if (key.code !== 0) throw new Error(`mesh swarm-key failed: ${key.stderr.trim()}`)
    await fakeMachine(ctx.sysfs, opts.cores)
    const homes: string[] = []
    for (let r = 0; r < opts.rounds; r++) {
      // alternate which goes first, so a drift in the machine's load does not favour one
      const order: Array<number | 'local'> = ['local', ...builds.map((_, i) => i)]
      if (r % 2 === 1) order.reverse()
      for (const what of order) {
        if (reaper.interrupted) return new Promise<number>(() => {})
        if (what === 'local') {
          const l = await localRound(opts)
          results.local.push(l)
          console.log(`  round ${r + 1} local: ${fmtS(l.wallMs)}`)
          continue
        }
        const build = builds[what] as Build
        const label = `r${r + 1}b${what + 1}`
        homes.push(`${label}-dispatcher`, `${label}-runner`)
        const m = await meshRound(ctx, build, label)
        results.mesh[what]?.push(m)
        console.log(`  round ${r + 1} mesh (${build.label}): ${fmtS(m.wallMs)}, ${m.ok} ok, ${m.retried} retried, ${m.failures.length} failed; last start ${fmtS(Math.max(...m.startDelays))}`)
      }
    }
    results.load.end = loadavg()
    results.logs = warnings(homes.map(h => join(workdir, h, 'daemon.log')))
    results.durationMs = performance.now() - started
    if (opts.write) {
      results.plot = await writePlot('backlog-start', linePlotSvg(`${opts.tasks} × sleep ${opts.seconds} on ${opts.cores} cores: tasks started (the median round)`, 's after the burst', 'tasks started', [
        { label: 'local, perfect', points: startCurve(medianRound(results.local)) },
        ...builds.map((b, i) => ({ label: builds.length > 1 ? `mesh (${i + 1})` : 'mesh', points: startCurve(medianRound(results.mesh[i] ?? [])) }))
      ]))
    }
    const section = render(results, opts, facts, argv)
    await publishSection(opts, SECTION, section, facts)
    return 0
  } catch (err) {
    return await benchFailed('bench:backlog', start, err)
  } finally {
    if (!reaper.interrupted) await reaper.cleanup()
  }
}

process.exitCode = await main(process.argv.slice(2))
