/**
 * Discovery benchmark with real daemons (separate processes, 127.0.0.1 only, default heartbeat
 * settings):
 *
 *   1. discovery — in meshes of 3, 10 and 25 daemons, start one NEW daemon with a fresh unique tag
 *      and poll `mesh peers --tag T --json` on another node until the new node is listed;
 *      spawn→ready and ready→found, and how it was found (`sources`: heartbeat / dht)
 *   2. idle — VmRSS and CPU (utime+stime over --idle-seconds) of every daemon of a 10-node mesh
 *   3. cli — wall clock of `mesh peers --json` against `node -e 0` on the same Node binary
 *
 * Rewrites the section between <!-- bench:discovery:start --> and <!-- bench:discovery:end --> of
 * BENCHMARKS.md (creating the file if needed).
 */
import { randomBytes } from 'node:crypto'
import { existsSync, readFileSync, readdirSync } from 'node:fs'
import { mkdir, writeFile } from 'node:fs/promises'
import { availableParallelism, loadavg } from 'node:os'
import { join, resolve } from 'node:path'
import { performance } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import { parseArgs } from 'node:util'
import { benchFailed, benchStart } from './lib/bench-main.js'
import { BUILT_MAIN, MESH_MAIN, NODE, REPO_ROOT, mesh, meshJson, run, startForeground, stopGroup } from './lib/proc.js'
import { clockTicksPerSecond, cpuTicks, machineFacts, rssKiB } from './lib/procfs.js'
import { defaultTimings, fmtMs, fmtNum, fmtS, mdTable, publishSection } from './lib/report.js'
import { max, median, min, relativeSpread, spread, summarize } from './lib/stats.js'
import type { Reaper } from './lib/proc.js'
import type { ForegroundDaemon } from './lib/proc.js'
import type { MachineFacts } from './lib/procfs.js'
import type { PeerEntry } from '../src/node/views.js'

const SECTION = 'bench:discovery'
/** a rep slower than this is reported as an anomaly and the homes are kept for its logs */
const SLOW_MS = 30_000

const HELP = `Usage: npm run bench:discovery -- [options]

Starts real mesh daemons on 127.0.0.1 (default heartbeat settings) and measures:
  1. discovery: time until a NEW node's unique tag is listed by 'mesh peers --tag T' on another
     node, in meshes of each --sizes (spawn→ready, ready→found, found via heartbeat or dht)
  2. idle: resident memory and CPU of each daemon of a 10-node mesh over --idle-seconds
  3. cli: wall clock of 'mesh peers --json' vs 'node -e 0' (same Node binary)
then rewrites the bench:discovery section of BENCHMARKS.md. Takes about 10 minutes with defaults.

Options:
  --sizes 3,10,25       mesh sizes for discovery (the new node included)
  --reps 7,7,5          repetitions per size (one number: the same for every size)
  --idle-seconds 60     how long the idle CPU is measured
  --idle-nodes 10       size of the idle mesh
  --cli-runs 30         runs of each command in the CLI comparison
  --find-timeout 120    seconds a rep may poll before it counts as not found
  --only LIST           run only some of: discovery,idle,cli (the report then omits the others)
  --out FILE            report file (default BENCHMARKS.md in the repository)
  --no-write            print the report, do not touch the file
  --keep                keep the daemons' homes and logs (in a temp folder) afterwards
  -h, --help            this text

Every daemon runs in its own process group and is stopped at the end, on failure and on Ctrl-C.
Set MESH_LOG_LEVEL=debug for detailed daemon logs (costs CPU: skews the idle figures).
Set MESH_MAIN=/path/to/dist/src/cli/main.js to measure another build (e.g. a snapshot of a commit).`

type Phase = 'discovery' | 'idle' | 'cli'

interface Options {
  sizes: number[]
  reps: number[]
  idleSeconds: number
  idleNodes: number
  cliRuns: number
  findTimeoutMs: number
  only: Set<Phase>
  out: string
  write: boolean
  keep: boolean
}

function numbers (flag: string, value: string, minValue: number): number[] {
  const xs = value.split(',').map(s => Number(s.trim()))
  if (xs.length === 0 || xs.some(x => !Number.isInteger(x) || x < minValue)) throw new Error(`${flag}: expected whole numbers >= ${minValue}, comma-separated (got '${value}')`)
  return xs
}

function one (flag: string, value: string, minValue: number): number {
  const xs = numbers(flag, value, minValue)
  if (xs.length !== 1) throw new Error(`${flag}: expected one number (got '${value}')`)
  return xs[0] as number
}

function parse (argv: string[]): Options | 'help' {
  const { values } = parseArgs({
    args: argv,
    options: {
      sizes: { type: 'string', default: '3,10,25' },
      reps: { type: 'string' },
      'idle-seconds': { type: 'string', default: '60' },
      'idle-nodes': { type: 'string', default: '10' },
      'cli-runs': { type: 'string', default: '30' },
      'find-timeout': { type: 'string', default: '120' },
      only: { type: 'string', default: 'discovery,idle,cli' },
      out: { type: 'string', default: join(REPO_ROOT, 'BENCHMARKS.md') },
      'no-write': { type: 'boolean', default: false },
      keep: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false }
    }
  })
  if (values.help) return 'help'
  const sizes = numbers('--sizes', values.sizes, 2)
  const reps = values.reps != null
    ? numbers('--reps', values.reps, 1)
    : sizes.map(s => s >= 20 ? 5 : 7)
  const only = new Set<Phase>()
  for (const p of values.only.split(',').map(s => s.trim())) {
    if (p !== 'discovery' && p !== 'idle' && p !== 'cli') throw new Error(`--only: unknown part '${p}' (discovery, idle, cli)`)
    only.add(p)
  }
  return {
    sizes,
    reps: sizes.map((_, i) => reps.length === 1 ? reps[0] as number : reps[i] ?? 5),
    idleSeconds: one('--idle-seconds', values['idle-seconds'], 1),
    idleNodes: one('--idle-nodes', values['idle-nodes'], 1),
    cliRuns: one('--cli-runs', values['cli-runs'], 1),
    findTimeoutMs: one('--find-timeout', values['find-timeout'], 1) * 1000,
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
  /** notes for the report: anomalies worth a human's look */
  anomalies: string[]
}

/** Daemons of one mesh, started one after the other; each bootstraps to the first one or two. */
class BenchMesh {
  readonly nodes: ForegroundDaemon[] = []
  private readonly ctx: Ctx
  readonly label: string

  constructor (ctx: Ctx, label: string) {
    this.ctx = ctx
    this.label = label
  }

  async spawn (name: string, tags: string[], bootstrap: string[]): Promise<ForegroundDaemon> {
    const home = join(this.ctx.workdir, `${this.label}-${name}`)
    await mkdir(home, { recursive: true, mode: 0o700 })
    await writeFile(join(home, 'config.json'), JSON.stringify({ version: 1, name: `${this.label}-${name}` }), { mode: 0o600 })
    const args = ['--listen', '/ip4/127.0.0.1/tcp/0', '--no-mdns', '--swarm-key', this.ctx.swarmKey]
    if (tags.length > 0) args.push('--tags', tags.join(','))
    for (const b of bootstrap) args.push('--bootstrap', b)
    return startForeground({ home, args, logFile: join(home, 'daemon.log'), reaper: this.ctx.reaper, readyTimeoutMs: 90_000 })
  }

  /** adds n permanent members, sequentially (a 2-core machine cannot start 25 at once) */
  async grow (n: number): Promise<void> {
    for (let i = 0; i < n; i++) {
      const k = this.nodes.length + 1
      const d = await this.spawn(`node${k}`, ['bench-base'], this.nodes.slice(0, 2).map(x => x.addr))
      this.nodes.push(d)
      process.stdout.write(`${k} `)
    }
    process.stdout.write('\n')
  }

  /** waits until node1 sees `n` nodes online; returns how long that took */
  async waitOnline (n: number, timeoutMs: number): Promise<number> {
    const first = this.nodes[0]
    if (first == null) throw new Error('empty mesh')
    const started = performance.now()
    let online = 0
    while (performance.now() - started < timeoutMs) {
      const peers = await meshJson<PeerEntry[]>(['peers', '--home', first.home], { reaper: this.ctx.reaper }).catch(() => [])
      online = peers.filter(p => p.state === 'online').length
      if (online >= n) return performance.now() - started
      await sleep(500)
    }
    throw new Error(`${this.label}: node1 sees ${online} of ${n} nodes online after ${timeoutMs / 1000} s; logs in ${this.ctx.workdir}`)
  }

  async stopAll (): Promise<void> {
    await Promise.all(this.nodes.map(async d => stopGroup(d.pid)))
    this.nodes.length = 0
  }
}

// ---------------------------------------------------------------- 1. discovery

interface Rep {
  size: number
  rep: number
  tag: string
  spawnToReady: number
  /** NaN when not found */
  readyToFound: number
  /** where the observer learned of the new node, at the first poll that listed it */
  sources: string
  state: string
  polls: number
  pollMs: number[]
  pollErrors: number
  error?: string
}

interface SizeResult {
  size: number
  reps: Rep[]
  meshUpMs: number
  observer: string
  /** CPU of the mesh members (all together) while the runs went on, % of one core */
  membersCpuPct: number
  /** 1-minute load average at the end of the runs */
  loadAvg: number
}

async function discovery (ctx: Ctx, size: number, reps: number, findTimeoutMs: number): Promise<SizeResult> {
  const m = new BenchMesh(ctx, `d${size}`)
  console.log(`\n[discovery] mesh of ${size}: starting ${size - 1} daemons… `)
  try {
    await m.grow(size - 1)
    const meshUpMs = await m.waitOnline(size - 1, 60_000 + 5_000 * size)
    // let the members' early provide walks (0.5, 3, 10 s after start) finish: we measure a settled mesh
    await sleep(12_000)
    const first = m.nodes[0] as ForegroundDaemon
    // the observer is never the node the newcomer dials: the news has to travel
    const observer = m.nodes[m.nodes.length - 1] as ForegroundDaemon
    const out: Rep[] = []
    // how busy the machine is with the members alone: on 2 cores a big mesh can saturate it
    const hz = clockTicksPerSecond()
    const t0 = performance.now()
    const before = m.nodes.map(d => cpuTicks(d.pid))
    for (let rep = 1; rep <= reps; rep++) {
      const r = await discoveryRep(ctx, m, { size, rep, first, observer, findTimeoutMs })
      out.push(r)
      console.log(`  rep ${rep}/${reps}: spawn→ready ${fmtS(r.spawnToReady)}, ready→found ${Number.isFinite(r.readyToFound) ? fmtS(r.readyToFound) : `NOT FOUND (${r.error ?? ''})`}, via ${r.sources || '-'}, ${r.polls} polls`)
      await sleep(1_000)
    }
    const ticks = m.nodes.reduce((sum, d, i) => sum + cpuTicks(d.pid) - (before[i] ?? 0), 0)
    const membersCpuPct = ticks / hz / ((performance.now() - t0) / 1000) * 100
    const loadAvg = loadavg()[0] ?? NaN
    console.log(`  the ${m.nodes.length} members used ${fmtNum(membersCpuPct, 0)} % of one core (machine: ${availableParallelism() * 100} %), load average ${fmtNum(loadAvg)}`)
    const saturated = membersCpuPct > availableParallelism() * 100 * 0.6
    const slow = out.filter(r => !Number.isFinite(r.readyToFound) || r.spawnToReady + r.readyToFound > SLOW_MS).length
    if (slow > 0 && saturated) {
      ctx.anomalies.push(`size ${size}: ${slow} of ${reps} runs slower than ${SLOW_MS / 1000} s while the ${m.nodes.length} idle members alone used ${fmtNum(membersCpuPct, 0)} % of one core out of ${availableParallelism() * 100} % (load average ${fmtNum(loadAvg)}): the machine is CPU-bound, so start-up, gossip and DHT queries all queue for CPU`)
    }
    return { size, reps: out, meshUpMs, observer: observer.info.id, membersCpuPct, loadAvg }
  } finally {
    await m.stopAll()
  }
}

async function discoveryRep (ctx: Ctx, m: BenchMesh, p: { size: number, rep: number, first: ForegroundDaemon, observer: ForegroundDaemon, findTimeoutMs: number }): Promise<Rep> {
  const tag = `bench-${p.size}-${p.rep}-${randomBytes(3).toString('hex')}`
  const rep: Rep = { size: p.size, rep: p.rep, tag, spawnToReady: NaN, readyToFound: NaN, sources: '', state: '', polls: 0, pollMs: [], pollErrors: 0 }
  let d: ForegroundDaemon
  try {
    d = await m.spawn(`new${p.rep}`, [tag], [p.first.addr])
  } catch (err) {
    rep.error = (err as Error).message
    ctx.anomalies.push(`size ${p.size} rep ${p.rep}: the new daemon did not start: ${rep.error}`)
    return rep
  }
  rep.spawnToReady = d.readyAt - d.spawnedAt
  try {
    while (performance.now() - d.readyAt < p.findTimeoutMs) {
      const r = await mesh(['peers', '--tag', tag, '--json', '--home', p.observer.home], { reaper: ctx.reaper, timeoutMs: 30_000 })
      rep.polls++
      rep.pollMs.push(r.ms)
      if (r.code !== 0) {
        rep.pollErrors++
        rep.error = r.stderr.trim().split('\n')[0]
      } else {
        const row = (JSON.parse(r.stdout) as PeerEntry[]).find(x => x.id === d.info.id)
        if (row != null) {
          rep.readyToFound = performance.now() - d.readyAt
          rep.sources = [...row.sources].sort().join('+')
          rep.state = row.state
          delete rep.error
          break
        }
      }
      await sleep(100)
    }
    const total = rep.spawnToReady + rep.readyToFound
    if (!Number.isFinite(rep.readyToFound)) {
      ctx.anomalies.push(`size ${p.size} rep ${p.rep}: tag ${tag} not found from ${p.observer.home} within ${p.findTimeoutMs / 1000} s (${rep.polls} polls, ${rep.pollErrors} failed${rep.error != null ? `: ${rep.error}` : ''}); new node's log: ${d.logFile}`)
    } else if (total > SLOW_MS) {
      ctx.anomalies.push(`size ${p.size} rep ${p.rep}: slow, ${fmtS(total)} from spawn to found (via ${rep.sources}); new node's log: ${d.logFile}, observer's: ${p.observer.logFile}`)
    }
  } finally {
    await stopGroup(d.pid)
  }
  return rep
}

// ---------------------------------------------------------------- 2. idle

interface IdleResult {
  nodes: number
  seconds: number
  rssMiB: number[]
  cpuPct: number[]
}

async function idle (ctx: Ctx, nodes: number, seconds: number, then: (m: BenchMesh) => Promise<void>): Promise<IdleResult> {
  const m = new BenchMesh(ctx, `idle${nodes}`)
  console.log(`\n[idle] mesh of ${nodes}: starting daemons… `)
  try {
    await m.grow(nodes)
    await m.waitOnline(nodes, 60_000 + 5_000 * nodes)
    // past the early provide walks and the first connection churn
    await sleep(15_000)
    const hz = clockTicksPerSecond()
    const t0 = performance.now()
    const before = m.nodes.map(d => cpuTicks(d.pid))
    console.log(`  measuring CPU for ${seconds} s…`)
    await sleep(seconds * 1000)
    const after = m.nodes.map(d => cpuTicks(d.pid))
    const elapsedS = (performance.now() - t0) / 1000
    const rssMiB = m.nodes.map(d => rssKiB(d.pid) / 1024)
    const cpuPct = after.map((a, i) => (a - (before[i] ?? a)) / hz / elapsedS * 100)
    console.log(`  RSS median ${fmtNum(median(rssMiB))} MiB, CPU median ${fmtNum(median(cpuPct), 2)} % of one core`)
    await then(m)
    return { nodes, seconds, rssMiB, cpuPct }
  } finally {
    await m.stopAll()
  }
}

// ---------------------------------------------------------------- 3. cli

interface CliResult {
  runs: number
  node: number[]
  peers: number[]
}

/** alternates the two commands so machine noise hits both alike; two warm-up runs each are dropped */
async function cliStartup (ctx: Ctx, home: string, runs: number): Promise<CliResult> {
  console.log(`\n[cli] ${runs} runs each of 'node -e 0' and 'mesh peers --json'…`)
  const res: CliResult = { runs, node: [], peers: [] }
  for (let i = -2; i < runs; i++) {
    const a = await run(NODE, ['-e', '0'], { reaper: ctx.reaper })
    const b = await mesh(['peers', '--json', '--home', home], { reaper: ctx.reaper })
    if (a.code !== 0 || b.code !== 0) throw new Error(`cli run failed: node ${a.code ?? a.signal ?? '?'}, mesh peers ${b.code ?? b.signal ?? '?'} ${b.stderr.trim()}`)
    if (i < 0) continue
    res.node.push(a.ms)
    res.peers.push(b.ms)
  }
  console.log(`  node -e 0 median ${fmtMs(median(res.node))}, mesh peers median ${fmtMs(median(res.peers))}`)
  return res
}

// ---------------------------------------------------------------- logs

/** warn-or-worse lines of every daemon log under the workdir, counted by component and message */
function logFindings (workdir: string): Map<string, number> {
  const counts = new Map<string, number>()
  if (!existsSync(workdir)) return counts
  for (const dir of readdirSync(workdir)) {
    const file = join(workdir, dir, 'daemon.log')
    if (!existsSync(file)) continue
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      if (line.trim() === '') continue
      let rec: { level?: number, msg?: string, component?: string, reason?: string, err?: { message?: string } }
      try { rec = JSON.parse(line) as typeof rec } catch { rec = { level: 50, msg: line.slice(0, 120) } }
      if ((rec.level ?? 0) < 40) continue
      const detail = rec.reason ?? rec.err?.message
      const key = `${rec.level === 40 ? 'warn' : 'error'} ${rec.component ?? '?'}: ${rec.msg ?? ''}${detail != null ? ` (${detail.slice(0, 100)})` : ''}`
      counts.set(key, (counts.get(key) ?? 0) + 1)
    }
  }
  return counts
}

// ---------------------------------------------------------------- report

interface Results {
  facts: MachineFacts
  argv: string[]
  discovery: SizeResult[]
  idle?: IdleResult
  cli?: CliResult
  anomalies: string[]
  logs: Map<string, number>
  durationMs: number
}


function countBy (xs: string[]): string {
  const m = new Map<string, number>()
  for (const x of xs) m.set(x, (m.get(x) ?? 0) + 1)
  return [...m].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ×${n}`).join(', ')
}

function renderDiscovery (results: SizeResult[], findTimeoutMs: number): string {
  const rows1: string[][] = []
  const rows2: string[][] = []
  const raw: string[] = []
  for (const s of results) {
    const found = s.reps.filter(r => Number.isFinite(r.readyToFound))
    const total = found.map(r => r.spawnToReady + r.readyToFound)
    const t = summarize(total)
    const rf = summarize(found.map(r => r.readyToFound))
    const sr = s.reps.map(r => r.spawnToReady).filter(Number.isFinite)
    rows1.push([String(s.size), `${found.length}/${s.reps.length}`, fmtS(t.median), fmtS(t.p95), fmtS(t.min), fmtS(t.max)])
    rows2.push([
      String(s.size),
      `${fmtS(median(sr))} (${fmtS(min(sr))}–${fmtS(max(sr))})`,
      fmtS(rf.median), fmtS(rf.p95), fmtS(rf.min), fmtS(rf.max),
      fmtNum(median(found.map(r => r.polls)), 0),
      fmtMs(median(s.reps.flatMap(r => r.pollMs))),
      countBy(found.map(r => r.sources)) || '-',
      `${fmtNum(s.membersCpuPct, 0)} % / ${fmtNum(s.loadAvg)}`
    ])
    raw.push(`- ${s.size} nodes (mesh of ${s.size - 1} up in ${fmtS(s.meshUpMs)}): ` + s.reps.map(r =>
      `${fmtS(r.spawnToReady)} + ${Number.isFinite(r.readyToFound) ? fmtS(r.readyToFound) : 'not found'} [${r.sources || '-'}, ${r.state || '-'}]`).join('; '))
  }
  return `### 1. Discovery: a new node's tag, seen from another node

A mesh of N−1 daemons is started and settled; then, per run, a NEW daemon is started with a fresh
unique tag (bootstrapping to node1) and \`mesh peers --tag <tag> --json\` is run on the last member of
the mesh (never the node the newcomer dialled) back to back — a whole CLI process per poll, 100 ms
apart — until its output lists the new node. *found* = end of the first poll that lists it, so the
resolution is about one poll. The newcomer is stopped after each run. Runs not found within
${findTimeoutMs / 1000} s count as not found and are left out of the times.

Spawn → found (total):

${mdTable(['mesh size', 'found / runs', 'median', 'p95', 'min', 'max'], rows1)}

The two parts, and how the observer knew (\`sources\` of its row: heartbeat = the peer table, from
gossip; dht = a provider record found by the query \`--tag\` makes):

${mdTable(['mesh size', 'spawn → ready median (min–max)', 'ready → found median', 'p95', 'min', 'max', 'polls (median)', 'one poll (median)', 'found via', 'members\' CPU / load'], rows2)}

*members' CPU*: all members of the mesh together during the runs, in % of one core (this machine
has ${availableParallelism() * 100} %); *load*: 1-minute load average at the end of the runs.

<details><summary>every run: spawn→ready + ready→found [sources, state]</summary>

${raw.join('\n')}

</details>`
}

function renderIdle (r: IdleResult): string {
  const row = (name: string, xs: number[], digits: number, unit: string): string[] => [
    name, String(xs.length), `${fmtNum(median(xs), digits)} ${unit}`, `${fmtNum(min(xs), digits)} ${unit}`, `${fmtNum(max(xs), digits)} ${unit}`,
    `${fmtNum(spread(xs), digits)} ${unit} (${fmtNum(relativeSpread(xs) * 100, 0)} % of median)`
  ]
  const sumCpu = r.cpuPct.reduce((a, b) => a + b, 0)
  const sumRss = r.rssMiB.reduce((a, b) => a + b, 0)
  return `### 2. Idle daemon, ${r.nodes}-node mesh

Every daemon of a settled ${r.nodes}-node mesh (15 s after all were online), doing nothing but
heartbeats, DHT upkeep and connection keep-alive. CPU = utime+stime from \`/proc/PID/stat\` over
${r.seconds} s, as a share of one core; memory = VmRSS from \`/proc/PID/status\` at the end.

${mdTable(['per daemon', 'daemons', 'median', 'min', 'max', 'spread (max − min)'], [
    row('resident memory (VmRSS)', r.rssMiB, 1, 'MiB'),
    row('CPU, % of one core', r.cpuPct, 2, '%')
  ])}

All ${r.nodes} together: ${fmtNum(sumCpu, 1)} % of one core, ${fmtNum(sumRss, 0)} MiB resident.`
}

function renderCli (r: CliResult): string {
  const n = summarize(r.node)
  const p = summarize(r.peers)
  const ratio = p.median / n.median
  return `### 3. CLI start-up: \`mesh peers\` vs bare Node

Whole process, wall clock from spawn to exit, ${r.runs} runs each, the two commands alternating (two
warm-up runs each dropped). \`mesh peers --json\` asks the node1 daemon of the idle mesh above over its
control socket; the baseline is \`node -e 0\` with the same Node binary.

${mdTable(['command', 'runs', 'median', 'p95', 'min', 'max', 'median ÷ bare node'], [
    ['`node -e 0`', String(n.n), fmtMs(n.median), fmtMs(n.p95), fmtMs(n.min), fmtMs(n.max), '1.00×'],
    ['`mesh peers --json`', String(p.n), fmtMs(p.median), fmtMs(p.p95), fmtMs(p.min), fmtMs(p.max), `${fmtNum(ratio, 2)}×`]
  ])}

\`mesh peers\` costs ${fmtMs(p.median - n.median)} (median) more than starting Node itself.`
}

function render (r: Results, opts: Options): string {
  const f = r.facts
  const parts = [
    `## Discovery, idle cost and CLI start-up (\`npm run bench:discovery\`)

Run ${f.date.replace(/\.\d+Z$/, 'Z')} on ${f.nproc} cores (${f.cpuModel}), ${fmtNum(f.memTotalGiB)} GiB RAM, Node ${f.node},
Linux ${f.kernel}; code measured: ${MESH_MAIN === BUILT_MAIN ? `this checkout, commit ${f.commit}` : `\`MESH_MAIN=${MESH_MAIN}\``}; ${fmtS(r.durationMs)} in all.
Arguments: \`${r.argv.length > 0 ? r.argv.join(' ') : '(defaults)'}\`. Default daemon settings (${defaultTimings()}).`
  ]
  if (opts.only.has('discovery')) parts.push(renderDiscovery(r.discovery, opts.findTimeoutMs))
  if (r.idle != null) parts.push(renderIdle(r.idle))
  if (r.cli != null) parts.push(renderCli(r.cli))
  const notes: string[] = []
  for (const a of r.anomalies) notes.push(`- ${a}`)
  if (r.logs.size > 0) {
    notes.push('- daemon log lines at warn or above, over every daemon of the run:')
    for (const [k, n] of [...r.logs].sort((a, b) => b[1] - a[1]).slice(0, 15)) notes.push(`  - ${n} × ${k}`)
  }
  parts.push(`### Notes\n\n${notes.length > 0 ? notes.join('\n') : '- nothing unusual: every run found its node within 30 s, and no daemon logged a warning or error.'}`)
  return parts.join('\n\n')
}

// ---------------------------------------------------------------- main

async function main (argv: string[]): Promise<number> {
  const start = await benchStart('bench:discovery', argv, parse, HELP)
  if (typeof start === 'number') return start
  const { opts, reaper, workdir, started } = start
  const ctx: Ctx = { workdir, swarmKey: join(workdir, 'swarm.key'), reaper, anomalies: [] }
  const facts = machineFacts(REPO_ROOT)
  console.log(`bench:discovery: ${facts.nproc} cores, Node ${facts.node}; work dir ${workdir}`)
  try {
    const key = await mesh(['swarm-key', '--out', ctx.swarmKey], { reaper })
    if (key.code !== 0) throw new Error(`mesh swarm-key failed: ${key.stderr.trim()}`)

    const results: Results = { facts, argv, discovery: [], anomalies: ctx.anomalies, logs: new Map(), durationMs: 0 }
    if (opts.only.has('discovery')) {
      for (const [i, size] of opts.sizes.entries()) {
        results.discovery.push(await discovery(ctx, size, opts.reps[i] ?? 5, opts.findTimeoutMs))
      }
    }
    if (opts.only.has('idle') || opts.only.has('cli')) {
      const o = opts
      const idleResult = await idle(ctx, o.only.has('idle') ? o.idleNodes : 1, o.only.has('idle') ? o.idleSeconds : 1, async m => {
        if (o.only.has('cli')) results.cli = await cliStartup(ctx, (m.nodes[0] as ForegroundDaemon).home, o.cliRuns)
      })
      if (o.only.has('idle')) results.idle = idleResult
    }
    results.logs = logFindings(workdir)
    if (ctx.anomalies.length > 0 && !start.keep.value) {
      start.keep.value = true
      console.log('\nanomalies found: keeping the daemon homes and logs for a look')
    }
    results.durationMs = performance.now() - started
    const section = render(results, opts)
    await publishSection(opts, SECTION, section, facts)
    return 0
  } catch (err) {
    return await benchFailed('bench:discovery', start, err)
  } finally {
    if (!reaper.interrupted) await reaper.cleanup()
  }
}

process.exitCode = await main(process.argv.slice(2))
