/**
 * mesh side by side with what users run today, measured in one run on the same hosts: hosts are
 * network namespaces of one machine (scripts/lib/netns.ts), each running a mesh daemon AND an
 * OpenSSH server on its own IP. Every command runs inside host1's namespace (`nsenter --net`), so
 * all of them pay the same wrapper and cross the same bridge:
 *
 *   1. one no-op on one remote host: `mesh push --target host2 -- true` vs `ssh root@host2 true`,
 *      with a new connection each time and over a ControlMaster connection
 *   2. one command on all of N hosts (10, 25): `mesh push --all --tag nN -- hostname -I` vs
 *      `pdsh -R ssh -w IPS hostname -I` vs `ansible all -m command -a 'hostname -I'` (with its
 *      default ControlPersist, and without); each run's output must hold every host's own address
 *   3. throughput: 1,000 `true` tasks over 5 hosts, pushed concurrently through host1's control
 *      socket, until all have final records, vs `seq 1000 | xargs -P K -n1 sh -c true` locally
 *
 * One lab per fan-out size (1 + N hosts; the first also runs 1. and 3.), torn down after its
 * phases, also on failure or Ctrl-C. Rewrites the bench:compare section of BENCHMARKS.md and the
 * plots in docs/bench/; with --cpu-prof, only the bench:compare:profile section (profiled daemons
 * and CLI: the timings are skewed, the shares are what counts).
 */
import { existsSync, readdirSync } from 'node:fs'
import { mkdir, writeFile } from 'node:fs/promises'
import { availableParallelism, loadavg } from 'node:os'
import { join, resolve } from 'node:path'
import { performance } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import { parseArgs } from 'node:util'
import { createControlClient } from '../src/node/control/index.js'
import { benchFailed, benchStart } from './lib/bench-main.js'
import { NO_CALLER, callersOf, excessOver, monotonicUs, summarizeProfile } from './lib/cpuprofile.js'
import { warnings } from './lib/daemon-logs.js'
import { createLab, makeSwarmKey, netnsProblem, startAll, teardown, leftovers } from './lib/netns.js'
import { labSshKeys, labSshOptions, startLabMaster, startLabSshd } from './lib/netns-sshd.js'
import { boxPlotSvg, linePlotSvg, writePlot } from './lib/plot.js'
import { runPool } from './lib/pool.js'
import { BUILT_MAIN, MESH_MAIN, NODE, REPO_ROOT, alive, run } from './lib/proc.js'
import { childCpuTicks, clockTicksPerSecond, cpuTicks, machineFacts } from './lib/procfs.js'
import { defaultTimings, fmtMs, fmtNum, fmtS, mdTable, publishSection } from './lib/report.js'
import { median, summarize } from './lib/stats.js'
import { sshProblem } from './lib/sshd.js'
import { whole } from './lib/args.js'
import type { PushParams } from '../src/node/api.js'
import type { DispatchEvent } from '../src/node/dispatch/index.js'
import type { PeerEntry } from '../src/node/views.js'
import type { TaskRecord } from '../src/protocols/results/index.js'
import type { ProfileSummary } from './lib/cpuprofile.js'
import type { NetHost, NetLabState } from './lib/netns.js'
import type { LabSshKeys, LabSshd, LabSshMaster } from './lib/netns-sshd.js'
import type { Reaper, RunResult } from './lib/proc.js'
import type { MachineFacts } from './lib/procfs.js'

const SECTION = 'bench:compare'
const PROFILE_SECTION = 'bench:compare:profile'
const TP_TAG = 'tp'

const HELP = `Usage: npm run bench:compare -- [options]   (root: builds network namespaces)

Builds a lab of network namespaces per fan-out size (host1 + N hosts on a bridge, each with a mesh
daemon and an sshd on its IP) and measures, from host1's namespace, in one run:
  1. one no-op on one host: mesh push --target host2 -- true vs ssh root@IP true (new
     connection, and over a ControlMaster connection)
  2. one command on all of N hosts: mesh push --all vs pdsh -R ssh vs ansible -m command,
     output checked from every host
  3. throughput: --tasks no-op tasks over --tp-hosts hosts vs seq | xargs -P locally
then rewrites the bench:compare section of BENCHMARKS.md and docs/bench/compare-*.svg.
About 14 minutes with the defaults on 2 cores.

Options:
  --one-runs 30         measured runs of each command in 1. (after 2 unmeasured each)
  --fanout-runs 9       measured runs of each tool per size in 2. (after 1 unmeasured each)
  --sizes 10,25         fan-out sizes (hosts besides host1); one lab each
  --settle 60           seconds a lab runs after every host is seen online, before anything is
                        measured (daemons are long-running: their start-up work, DHT bootstrap and
                        the first provide walks, is not what a fan-out pays)
  --tasks 1000          tasks per throughput round
  --tp-hosts 5          hosts the throughput tasks spread over
  --tp-concurrency 20   tasks in flight through the control socket
  --xargs-p 0           xargs -P for the local baseline (0: 4 × cores)
  --rounds 3            throughput rounds (mesh and xargs alternate)
  --only LIST           some of: one,fanout,throughput
  --cpu-prof            profile the daemons (and the mesh CLI); writes only the
                        bench:compare:profile section (use small counts)
  --out FILE            report file (default BENCHMARKS.md in the repository)
  --no-write            print the report, touch no file
  --keep                keep the work dir (homes, logs, keys, profiles)
  -h, --help            this text

Needs root, ip netns, /usr/sbin/sshd, pdsh and ansible (scripts/bench installs them); a missing
pdsh or ansible drops its rows with a note. Set MESH_MAIN=/path/to/dist/src/cli/main.js to measure
another build.`

type Phase = 'one' | 'fanout' | 'throughput'
const PHASES: readonly Phase[] = ['one', 'fanout', 'throughput']

interface Options {
  oneRuns: number
  fanoutRuns: number
  sizes: number[]
  settleS: number
  tasks: number
  tpHosts: number
  tpConcurrency: number
  xargsP: number
  rounds: number
  only: Set<Phase>
  cpuProf: boolean
  out: string
  write: boolean
  keep: boolean
}

function parse (argv: string[]): Options | 'help' {
  const { values } = parseArgs({
    args: argv,
    options: {
      'one-runs': { type: 'string', default: '30' },
      'fanout-runs': { type: 'string', default: '9' },
      sizes: { type: 'string', default: '10,25' },
      settle: { type: 'string', default: '60' },
      tasks: { type: 'string', default: '1000' },
      'tp-hosts': { type: 'string', default: '5' },
      'tp-concurrency': { type: 'string', default: '20' },
      'xargs-p': { type: 'string', default: '0' },
      rounds: { type: 'string', default: '3' },
      only: { type: 'string', default: PHASES.join(',') },
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
  const sizes = [...new Set(values.sizes.split(',').map(x => whole('--sizes', x.trim(), 1)))].sort((a, b) => a - b)
  if ((sizes.at(-1) ?? 0) > 48) throw new Error('--sizes: at most 48 hosts')
  const xargsP = whole('--xargs-p', values['xargs-p'], 0)
  return {
    oneRuns: whole('--one-runs', values['one-runs'], 1),
    fanoutRuns: whole('--fanout-runs', values['fanout-runs'], 1),
    sizes,
    settleS: whole('--settle', values.settle, 0),
    tasks: whole('--tasks', values.tasks, 1),
    tpHosts: whole('--tp-hosts', values['tp-hosts'], 1),
    tpConcurrency: whole('--tp-concurrency', values['tp-concurrency'], 1),
    xargsP: xargsP === 0 ? 4 * availableParallelism() : xargsP,
    rounds: whole('--rounds', values.rounds, 1),
    only,
    cpuProf: values['cpu-prof'],
    out: resolve(values.out),
    write: !values['no-write'],
    keep: values.keep || values['cpu-prof']
  }
}

class Interrupted extends Error {}

interface Ctx {
  opts: Options
  workdir: string
  reaper: Reaper
  notes: string[]
  tools: { pdsh?: string, ansible?: string }
  /** set on failure: the labs' homes and daemon logs stay for a post-mortem */
  keep: { value: boolean }
}

function checkInterrupted (ctx: Ctx): void {
  if (ctx.reaper.interrupted) throw new Interrupted('interrupted')
}

/** epoch ms with sub-ms precision, comparable to the records' ISO times (one machine, one clock) */
function nowEpoch (): number {
  return performance.timeOrigin + performance.now()
}

const iso = (s: string | null | undefined): number => s == null ? NaN : Date.parse(s)

// ---------------------------------------------------------------- the lab

interface Lab {
  state: NetLabState
  /** the dispatching side */
  h1: NetHost
  /** host2 … host(N+1) */
  targets: NetHost[]
  keys: LabSshKeys
  sshds: LabSshd[]
  masters: LabSshMaster[]
  /** idle CPU of every daemon, % of one core, measured before the phases */
  idleCpu: number[]
  /** the idle measurement, monotonic µs: the reference of the daemons' profiles */
  idleWindow: [number, number]
  profDir: string
}

function tagsFor (k: number, size: number, tpHosts: number): string[] {
  if (k === 1) return []
  const t = [`n${size}`, `h${k}`]
  if (k - 1 <= tpHosts) t.push(TP_TAG)
  return t
}

/** `nsenter --net=/run/netns/NS CMD ARGS`: a command in a host's network namespace */
function inNs (ns: string, cmd: string, args: string[]): [string, string[]] {
  return ['nsenter', [`--net=/run/netns/${ns}`, cmd, ...args]]
}

async function labUp (ctx: Ctx, size: number, label: string): Promise<Lab> {
  const dir = join(ctx.workdir, label)
  const hosts = 1 + size
  console.log(`\n[${label}] ${hosts} hosts: namespaces, daemons (host1 has no tags; host2… tagged n${size}, hK${size >= ctx.opts.tpHosts ? `, the first ${ctx.opts.tpHosts} also ${TP_TAG}` : ''}), sshds…`)
  const state = createLab({ dir, hosts, owner: process.pid, tags: Array.from({ length: hosts }, (_, i) => tagsFor(i + 1, size, ctx.opts.tpHosts)) })
  // teardown is synchronous: it also runs from the exit handler if everything else failed
  const down = (): void => {
    const report = teardown(dir, state.runId, { keepFiles: ctx.keep.value })
    const left = leftovers(state.runId)
    if (report.problems.length > 0 || left.length > 0) console.error(`[${label}] teardown incomplete: ${[...report.problems, ...left].join('; ')}`)
  }
  process.once('exit', down)
  ctx.reaper.onCleanup(() => { process.off('exit', down); down() }, { first: true })
  const profDir = join(ctx.workdir, 'prof', label)
  const t0 = performance.now()
  await makeSwarmKey(state, { reaper: ctx.reaper })
  const saved = process.env.NODE_OPTIONS
  if (ctx.opts.cpuProf) {
    await mkdir(profDir, { recursive: true })
    process.env.NODE_OPTIONS = `${saved ?? ''} --cpu-prof --cpu-prof-dir=${profDir}`.trim()
  }
  try {
    await startAll(state, { reaper: ctx.reaper, timeoutMs: 120_000 })
  } finally {
    if (saved == null) delete process.env.NODE_OPTIONS
    else process.env.NODE_OPTIONS = saved
  }
  const [h1, ...targets] = state.hosts as [NetHost, ...NetHost[]]
  // host1 must see every target online with its tags before anything is measured
  const client = createControlClient({ path: join(h1.home, 'mesh.sock'), home: h1.home })
  let seen = 0
  for (;;) {
    checkInterrupted(ctx)
    const peers = await client.call<PeerEntry[]>('peers', {}).catch(() => [])
    seen = peers.filter(p => !p.self && p.state === 'online' && p.tags.includes(`n${size}`)).length
    if (seen >= size) break
    if (performance.now() - t0 > 180_000) throw new Error(`[${label}] host1 sees ${seen} of ${size} hosts online after 180 s; logs in ${dir}`)
    await sleep(500)
  }
  console.log(`[${label}] mesh of ${hosts} daemons settled in ${fmtS(performance.now() - t0)}; measuring from ${ctx.opts.settleS} s after the start`)
  const keys = await labSshKeys(join(dir, 'ssh'), `${state.hosts[0]?.ip.split('.').slice(0, 3).join('.') ?? '10.213.0'}.*`)
  const lab: Lab = { state, h1, targets, keys, sshds: [], masters: [], idleCpu: [], idleWindow: [0, 0], profDir }
  await runPool(targets.length, 6, async i => {
    const t = targets[i] as NetHost
    lab.sshds.push(await startLabSshd(t, keys, h1.ns, ctx.reaper))
  })
  console.log(`[${label}] ${lab.sshds.length} sshds answer ssh from host1`)
  const settleUntil = t0 + ctx.opts.settleS * 1000
  while (performance.now() < settleUntil) {
    checkInterrupted(ctx)
    await sleep(Math.min(1000, settleUntil - performance.now()))
  }
  // what the idle mesh costs this machine (every host shares its cores)
  const hz = clockTicksPerSecond()
  const pids = state.hosts.map(h => h.pid ?? 0)
  const before = pids.map(p => { try { return cpuTicks(p) } catch { return NaN } })
  lab.idleWindow[0] = monotonicUs()
  await sleep(10_000)
  lab.idleWindow[1] = monotonicUs()
  lab.idleCpu = pids.map((p, i) => { try { return (cpuTicks(p) - (before[i] ?? NaN)) / hz / 10 * 100 } catch { return NaN } })
  console.log(`[${label}] idle: the ${hosts} daemons use ${fmtNum(lab.idleCpu.reduce((a, b) => a + b, 0), 0)} % of one core together`)
  return lab
}

/**
 * Stops the sshds, then every daemon with SIGTERM (so --cpu-prof profiles get written), then the
 * lab's teardown (in the Reaper's cleanup, which also runs after a failure).
 */
async function labDown (ctx: Ctx, lab: Lab): Promise<void> {
  for (const m of lab.masters) await m.stop()
  await Promise.all(lab.sshds.map(async s => s.stop()))
  const pids = lab.state.hosts.map(h => h.pid).filter((p): p is number => p != null)
  for (const p of pids) { try { process.kill(p, 'SIGTERM') } catch { /* gone */ } }
  const deadline = Date.now() + 20_000
  while (pids.some(alive) && Date.now() < deadline) await sleep(100)
  const dir = lab.state.dir
  const report = teardown(dir, lab.state.runId, { keepFiles: ctx.keep.value })
  if (report.problems.length > 0) ctx.notes.push(`teardown of ${dir}: ${report.problems.join('; ')}`)
}

// ---------------------------------------------------------------- commands, measured in rotation

interface Cmd {
  key: string
  label: string
  cmd: string
  args: string[]
  env?: NodeJS.ProcessEnv
  /** a problem with a run that exited 0, or undefined */
  check?: (r: RunResult) => string | undefined
  /** called with every measured run that was fine, and its start time (epoch ms) */
  onOk?: (r: RunResult, startEpoch: number) => void
}

interface Series {
  key: string
  label: string
  ms: number[]
  failures: string[]
}

async function rotate (ctx: Ctx, cmds: Cmd[], runs: number, warmup: number, what: string): Promise<Series[]> {
  const series = cmds.map(c => ({ key: c.key, label: c.label, ms: [] as number[], failures: [] as string[] }))
  console.log(`[${what}] ${warmup} + ${runs} runs each of ${cmds.map(c => c.key).join(', ')} (rotating)…`)
  for (let i = -warmup; i < runs; i++) {
    for (let j = 0; j < cmds.length; j++) {
      // rotate the order, so no command always runs right after the same other one
      const k = (j + Math.max(0, i)) % cmds.length
      const c = cmds[k] as Cmd
      const s = series[k] as Series
      const r = await run(c.cmd, c.args, { reaper: ctx.reaper, timeoutMs: 120_000, ...(c.env != null ? { env: c.env } : {}) })
      const startEpoch = nowEpoch() - r.ms
      checkInterrupted(ctx)
      const missing = r.code === 0 ? c.check?.(r) : undefined
      const problem = r.code !== 0
        ? `exit ${r.code ?? r.signal ?? '?'}: ${(r.stderr.trim() || r.stdout.trim()).slice(0, 300)}`
        : missing != null && r.stderr.trim() !== '' ? `${missing}; stderr: ${r.stderr.trim().slice(0, 300)}` : missing
      if (i < 0) {
        if (problem != null) throw new Error(`${what}: ${c.key} does not work: ${problem}`)
        continue
      }
      if (problem != null) s.failures.push(problem)
      else {
        s.ms.push(r.ms)
        c.onOk?.(r, startEpoch)
      }
    }
    if (i >= 0 && ((i + 1) % 10 === 0 || i + 1 === runs)) console.log(`  ${i + 1}/${runs}: ${series.map(s => `${s.key} ${fmtMs(median(s.ms))}`).join(', ')}`)
  }
  return series
}

function meshCli (lab: Lab, args: string[], env?: NodeJS.ProcessEnv): Pick<Cmd, 'cmd' | 'args' | 'env'> {
  const [cmd, a] = inNs(lab.h1.ns, NODE, [MESH_MAIN, args[0] as string, '--home', lab.h1.home, ...args.slice(1)])
  return { cmd, args: a, ...(env != null ? { env } : {}) }
}

/** NODE_OPTIONS that make the mesh CLI write a CPU profile (profiled runs only) */
function cliProfEnv (ctx: Ctx, lab: Lab, what: string): NodeJS.ProcessEnv | undefined {
  if (!ctx.opts.cpuProf) return undefined
  return { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${join(lab.profDir, `cli-${what}`)}` }
}

// ---------------------------------------------------------------- 1. one host

/** where one `mesh push` went, from its record and the CLI's wall clock, ms */
interface PushStages { cli: number, dispatch: number, process: number, back: number }

interface OneResult {
  series: Series[]
  stages: PushStages[]
  window: [number, number]
}

async function phaseOne (ctx: Ctx, lab: Lab): Promise<OneResult> {
  const target = lab.targets[0] as NetHost
  const stages: PushStages[] = []
  const master = await startLabMaster(lab.keys, lab.h1.ns, target.ip, ctx.reaper)
  lab.masters.push(master)
  const ssh = (extra: string[]): [string, string[]] => inNs(lab.h1.ns, 'ssh', [...labSshOptions(lab.keys, extra), `root@${target.ip}`, 'true'])
  const [sshCmd, sshArgs] = ssh([])
  const [cmCmd, cmArgs] = inNs(lab.h1.ns, 'ssh', [...master.clientArgs(), `root@${target.ip}`, 'true'])
  const [floorCmd, floorArgs] = inNs(lab.h1.ns, 'true', [])
  const cmds: Cmd[] = [
    {
      key: 'mesh',
      label: `\`mesh push --target ${target.name} --json -- true\``,
      ...meshCli(lab, ['push', '--target', target.name, '--json', '--', 'true'], cliProfEnv(ctx, lab, 'push')),
      check: r => {
        try {
          const rec = JSON.parse(r.stdout) as TaskRecord
          if (rec.state !== 'succeeded') return `state ${rec.state}: ${rec.error ?? ''}`
          if (rec.runnerName !== target.name) return `ran on ${rec.runnerName ?? '?'}, not ${target.name}`
          return undefined
        } catch {
          return `stdout is not a record: ${r.stdout.slice(0, 200)}`
        }
      },
      onOk: (r, start) => {
        const rec = JSON.parse(r.stdout) as TaskRecord
        const end = start + r.ms
        stages.push({ cli: iso(rec.submittedAt) - start, dispatch: iso(rec.startedAt) - iso(rec.submittedAt), process: iso(rec.finishedAt) - iso(rec.startedAt), back: end - iso(rec.finishedAt) })
      }
    },
    { key: 'ssh', label: `\`ssh root@${target.ip} true\` (new connection: TCP, key exchange, auth)`, cmd: sshCmd, args: sshArgs },
    { key: 'ssh-cm', label: '`ssh` over a ControlMaster connection', cmd: cmCmd, args: cmArgs },
    { key: 'floor', label: '`true` in host1\'s namespace (the `nsenter` wrapper every row pays)', cmd: floorCmd, args: floorArgs }
  ]
  const w0 = monotonicUs()
  const series = await rotate(ctx, cmds, ctx.opts.oneRuns, 2, 'one host')
  return { series, stages, window: [w0, monotonicUs()] }
}

// ---------------------------------------------------------------- 2. fan-out

interface FanoutStages { firstSpawn: number, lastSpawn: number, lastExit: number, total: number }

interface FanoutResult {
  size: number
  series: Series[]
  stages: FanoutStages[]
  idleCpu: number
  window: [number, number]
}

/** (who, address printed) pairs found in a tool's output; a host counts when it printed its own address */
function covered (out: string, re: RegExp, ipOf: (who: string) => string | undefined): Set<string> {
  const ok = new Set<string>()
  for (const m of out.matchAll(re)) {
    const who = m[1] ?? ''
    const ip = ipOf(who)
    if (ip != null && (m[2] ?? '').split(/\s+/).includes(ip)) ok.add(ip)
  }
  return ok
}

function coverage (expected: string[], got: Set<string>): string | undefined {
  const missing = expected.filter(ip => !got.has(ip))
  return missing.length === 0 ? undefined : `no output from ${missing.length} of ${expected.length} hosts (${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ', …' : ''})`
}

async function phaseFanout (ctx: Ctx, lab: Lab, size: number): Promise<FanoutResult> {
  const ips = lab.targets.map(t => t.ip)
  const byName = new Map(lab.targets.map(t => [t.name, t.ip]))
  const same = (who: string): string | undefined => ips.includes(who) ? who : undefined
  const sub = lab.targets[0]?.ip.split('.').slice(0, 3).join('.') ?? ''
  const range = `${sub}.[${lab.targets[0]?.index ?? 2}-${lab.targets.at(-1)?.index ?? 2}]`
  const cmds: Cmd[] = [{
    key: 'mesh',
    label: `\`mesh push --all --tag n${size} -- hostname -I\``,
    ...meshCli(lab, ['push', '--all', '--tag', `n${size}`, '--', 'hostname', '-I'], cliProfEnv(ctx, lab, `all${size}`)),
    check: r => coverage(ips, covered(r.stdout, /^(host\d+): (.*)$/gm, w => byName.get(w)))
  }]
  if (ctx.tools.pdsh != null) {
    const [cmd, args] = inNs(lab.h1.ns, 'pdsh', ['-R', 'ssh', '-f', String(Math.max(32, size)), '-w', range, 'hostname', '-I'])
    cmds.push({
      key: 'pdsh',
      label: `\`pdsh -R ssh -w ${range} hostname -I\``,
      cmd,
      args,
      env: { PDSH_SSH_ARGS_APPEND: labSshOptions(lab.keys).join(' ') },
      check: r => coverage(ips, covered(r.stdout, /^([\d.]+): (.*)$/gm, same))
    })
  }
  if (ctx.tools.ansible != null) {
    const adir = join(lab.state.dir, 'ansible')
    await mkdir(join(adir, 'cp'), { recursive: true })
    const inv = join(adir, 'inventory.ini')
    const common = labSshOptions(lab.keys, [], { strict: false }).join(' ')
    await writeFile(inv, `[lab]\n${ips.join('\n')}\n\n[all:vars]\nansible_user=root\nansible_python_interpreter=/usr/bin/python3\nansible_ssh_common_args='${common}'\n`)
    await writeFile(join(adir, 'ansible.cfg'), `[defaults]\nhost_key_checking = False\nlocal_tmp = ${join(adir, 'tmp')}\n\n[ssh_connection]\npipelining = True\ncontrol_path_dir = ${join(adir, 'cp')}\n`)
    const env: NodeJS.ProcessEnv = { ANSIBLE_CONFIG: join(adir, 'ansible.cfg'), ANSIBLE_HOME: join(adir, 'home'), ANSIBLE_HOST_KEY_CHECKING: 'False', ANSIBLE_PIPELINING: 'True', ANSIBLE_NOCOLOR: '1' }
    const [cmd, args] = inNs(lab.h1.ns, 'ansible', ['all', '-i', inv, '-m', 'command', '-a', 'hostname -I', '-f', String(size)])
    const check = (r: RunResult): string | undefined => coverage(ips, covered(r.stdout, /^([\d.]+) \| CHANGED \| rc=0 >>\n(.*)$/gm, same))
    cmds.push({ key: 'ansible', label: `\`ansible all -m command -a 'hostname -I' -f ${size}\` (defaults: ControlPersist 60 s, so warm connections)`, cmd, args, env, check })
    cmds.push({ key: 'ansible-cold', label: 'the same, `ControlMaster=no` (a new connection per host and run)', cmd, args, env: { ...env, ANSIBLE_SSH_ARGS: '-C -o ControlMaster=no' }, check })
  }
  const w0 = monotonicUs()
  const series = await rotate(ctx, cmds, ctx.opts.fanoutRuns, 1, `fan-out ${size}`)
  const window: [number, number] = [w0, monotonicUs()]
  // where mesh's fan-out time goes: a few more runs with --json (records carry the runners' times)
  const stages: FanoutStages[] = []
  for (let i = 0; i < 3; i++) {
    const c = meshCli(lab, ['push', '--all', '--tag', `n${size}`, '--json', '--', 'true'])
    const r = await run(c.cmd, c.args, { reaper: ctx.reaper, timeoutMs: 120_000 })
    const start = nowEpoch() - r.ms
    try {
      const recs = JSON.parse(r.stdout) as TaskRecord[]
      const starts = recs.map(x => iso(x.startedAt)).filter(Number.isFinite)
      const ends = recs.map(x => iso(x.finishedAt)).filter(Number.isFinite)
      if (recs.length === size && recs.every(x => x.state === 'succeeded')) stages.push({ firstSpawn: Math.min(...starts) - start, lastSpawn: Math.max(...starts) - start, lastExit: Math.max(...ends) - start, total: r.ms })
      else ctx.notes.push(`fan-out ${size}: a --json run gave ${recs.length} records, states ${[...new Set(recs.map(x => x.state))].join('/')}`)
    } catch {
      ctx.notes.push(`fan-out ${size}: a --json run printed no records (exit ${r.code ?? '?'}): ${r.stderr.trim().slice(0, 200)}`)
    }
  }
  return { size, series, stages, idleCpu: lab.idleCpu.reduce((a, b) => a + b, 0), window }
}

// ---------------------------------------------------------------- 3. throughput

interface TpRound {
  what: 'mesh' | 'xargs'
  wallMs: number
  ok: number
  failures: string[]
  byRunner: Map<string, number>
  /**
   * mesh rounds: CPU (utime+stime) the round cost host1's daemon and all the other daemons together,
   * ms, beyond their idle rate; and the tasks' own processes (the daemons' reaped children).
   * `others` split: the hosts that hold the throughput tag (runners) and the rest (bystanders), which
   * only receive, check, store and pass on every result
   */
  cpuMs?: { dispatcher: number, others: number, tasks: number, runners: number, bystanders: number }
}

interface TpResult { tasks: number, hosts: number, bystanders: number, concurrency: number, xargsP: number, rounds: TpRound[], window: [number, number] }

async function phaseThroughput (ctx: Ctx, lab: Lab): Promise<TpResult> {
  const { tasks, tpHosts, tpConcurrency, xargsP, rounds } = ctx.opts
  const client = createControlClient({ path: join(lab.h1.home, 'mesh.sock'), home: lab.h1.home })
  const params: PushParams = { text: JSON.stringify({ command: ['true'] }), name: 'bench', baseDir: '/tmp', tags: [TP_TAG], all: false, waitMs: 300_000, detach: false, follow: false }
  const res: TpResult = { tasks, hosts: tpHosts, bystanders: Math.max(0, lab.targets.length - tpHosts), concurrency: tpConcurrency, xargsP, rounds: [], window: [0, 0] }
  const meshRound = async (n: number): Promise<TpRound> => {
    const round: TpRound = { what: 'mesh', wallMs: 0, ok: 0, failures: [], byRunner: new Map() }
    const cpu0 = daemonCpuMs(lab)
    const children0 = childrenCpuMs(lab)
    const t0 = performance.now()
    await runPool(n, tpConcurrency, async () => {
      if (ctx.reaper.interrupted || round.failures.length >= 20) return
      try {
        let rec: TaskRecord | undefined
        for await (const ev of client.stream<DispatchEvent>('push', params, { timeoutMs: 600_000 })) {
          if (ev.type === 'result') rec = ev.record
          else if (ev.type === 'unplaceable') throw new Error(`unplaceable: ${ev.reason}`)
        }
        if (rec == null) throw new Error('no result')
        if (rec.state !== 'succeeded') throw new Error(`${rec.state}: ${rec.error ?? ''}`)
        round.ok++
        const who = rec.runnerName ?? '?'
        round.byRunner.set(who, (round.byRunner.get(who) ?? 0) + 1)
      } catch (err) {
        round.failures.push((err as Error).message)
      }
    })
    round.wallMs = performance.now() - t0
    const cpu1 = daemonCpuMs(lab)
    // what the idle mesh would have used anyway over the round is not the tasks' cost
    const idleMs = (i: number): number => (lab.idleCpu[i] ?? 0) / 100 * round.wallMs
    const spent = cpu1.map((ms, i) => ms - (cpu0[i] ?? NaN) - idleMs(i))
    const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0)
    round.cpuMs = {
      dispatcher: spent[0] ?? NaN,
      others: sum(spent.slice(1)),
      tasks: childrenCpuMs(lab) - children0,
      // tagsFor: host2 … host(tpHosts+1) hold the throughput tag
      runners: sum(spent.slice(1, 1 + tpHosts)),
      bystanders: sum(spent.slice(1 + tpHosts))
    }
    return round
  }
  const xargsRound = async (): Promise<TpRound> => {
    const r = await run('bash', ['-c', `seq ${tasks} | xargs -P ${xargsP} -n1 sh -c true`], { reaper: ctx.reaper, timeoutMs: 300_000 })
    return { what: 'xargs', wallMs: r.ms, ok: r.code === 0 ? tasks : 0, failures: r.code === 0 ? [] : [`xargs exit ${r.code ?? '?'}`], byRunner: new Map() }
  }
  console.log(`[throughput] warm-up: ${tpConcurrency * 3} tasks…`)
  const warm = await meshRound(tpConcurrency * 3)
  if (warm.ok === 0) throw new Error(`throughput warm-up: no task succeeded: ${warm.failures[0] ?? '?'}`)
  res.window[0] = monotonicUs()
  for (let i = 0; i < rounds; i++) {
    for (const what of i % 2 === 0 ? ['xargs', 'mesh'] : ['mesh', 'xargs']) {
      checkInterrupted(ctx)
      const r = what === 'mesh' ? await meshRound(tasks) : await xargsRound()
      res.rounds.push(r)
      console.log(`  round ${i + 1} ${what}: ${fmtS(r.wallMs)}, ${fmtNum(r.ok / (r.wallMs / 1000), 0)}/s${r.failures.length > 0 ? `, ${r.failures.length} failed` : ''}${r.byRunner.size > 0 ? ` (${[...r.byRunner].sort().map(([k, v]) => `${k} ${v}`).join(', ')})` : ''}${r.cpuMs != null ? `; daemon CPU per task: host1 ${fmtNum(r.cpuMs.dispatcher / tasks, 2)} ms, others ${fmtNum(r.cpuMs.others / tasks, 2)} ms (runners ${fmtNum(r.cpuMs.runners / tasks, 2)}, the ${res.bystanders} others ${fmtNum(r.cpuMs.bystanders / tasks, 2)}), task processes ${fmtNum(r.cpuMs.tasks / tasks, 2)} ms` : ''}`)
    }
  }
  res.window[1] = monotonicUs()
  return res
}

/** CPU (utime+stime) each of the lab's daemons has used so far, ms, in the order of its hosts (host1 first) */
function daemonCpuMs (lab: Lab): number[] {
  const hz = clockTicksPerSecond()
  return lab.state.hosts.map(h => { try { return cpuTicks(h.pid ?? 0) / hz * 1000 } catch { return NaN } })
}

/** CPU of the processes the lab's daemons have run and reaped so far (tasks, wrappers), ms, all together */
function childrenCpuMs (lab: Lab): number {
  const hz = clockTicksPerSecond()
  return lab.state.hosts.reduce((sum, h) => { try { return sum + childCpuTicks(h.pid ?? 0) / hz * 1000 } catch { return NaN } }, 0)
}

// ---------------------------------------------------------------- report

const ratio = (a: number, b: number): string => {
  if (!Number.isFinite(a) || !Number.isFinite(b) || b === 0) return '-'
  const x = a / b
  return `${fmtNum(x, x >= 10 ? 0 : x >= 0.1 ? 1 : 2)}×`
}

function seriesRows (series: Series[], baseline: string, runs: number): string[][] {
  const base = median(series.find(s => s.key === baseline)?.ms ?? [])
  return series.map(s => {
    const x = summarize(s.ms)
    return [s.label, `${s.ms.length}/${runs}`, fmtMs(x.median), fmtMs(x.p95), `${fmtMs(x.min)} – ${fmtMs(x.max)}`, fmtMs(x.spread), s.key === baseline ? '1.0× (baseline)' : ratio(x.median, base)]
  })
}

const HEAD = ['command', 'runs ok', 'median', 'p95', 'min – max', 'spread', 'median ÷ baseline']

interface Results {
  facts: MachineFacts
  versions: Record<string, string>
  argv: string[]
  load: { start: number[], end: number[] }
  one?: OneResult & { idleCpu: number, hosts: number }
  fanout: FanoutResult[]
  tp?: TpResult
  plots: Record<string, string>
  logs: Map<string, number>
  notes: string[]
  durationMs: number
}

function med (s: Series[] | undefined, key: string): number {
  return median(s?.find(x => x.key === key)?.ms ?? [])
}

function renderOne (r: NonNullable<Results['one']>, runs: number, plot: string | undefined): string {
  const m = med(r.series, 'mesh')
  const ssh = med(r.series, 'ssh')
  const cm = med(r.series, 'ssh-cm')
  const st = (k: keyof PushStages): number => median(r.stages.map(s => s[k]).filter(Number.isFinite))
  const stageRows = ([
    ['cli', 'CLI process: Node start-up, module loading, control socket, until the dispatcher stamped `submittedAt`'],
    ['dispatch', 'dispatcher → process spawned on host2 (queue, `queued` record, placement, push protocol, reservation, work dir; `startedAt`)'],
    ['process', '`true` itself, spawn → exit seen by the runner (`finishedAt`)'],
    ['back', 'exit → the CLI has exited (signed result record, gossip, stored at host1, control socket, CLI exit)']
  ] as Array<[keyof PushStages, string]>).map(([k, l]) => [l, fmtMs(st(k)), `${fmtNum(st(k) / m * 100, 0)} %`])
  return `### 1. One no-op command on one remote host

From host1's namespace to host2 (10.213.0.2) over the lab bridge; ${runs} runs of each command after 2
unmeasured, the commands rotating. ssh: key auth (ed25519), strict host key checking against the run's
known_hosts, \`-F /dev/null\`, \`BatchMode=yes\`; the ControlMaster row reuses one persistent
\`ssh -M -N\` connection (what \`ControlPersist\` keeps), so it skips TCP, key exchange and authentication.
Baseline: \`ssh\` with a new connection.

${mdTable(HEAD, seriesRows(r.series, 'ssh', runs))}

**\`mesh push\` takes ${ratio(m, ssh)} as long as \`ssh host true\`** (median ${fmtMs(m)} vs ${fmtMs(ssh)}) **and ${ratio(m, cm)} as long as ssh
over a ControlMaster connection** (${fmtMs(cm)}).${plot != null ? ` Distribution: [${plot}](${plot}).` : ''}

Where \`mesh push\`'s time goes (record timestamps — ms resolution — against the CLI's spawn and exit,
medians over ${r.stages.length} runs):

${mdTable(['stage', 'median', 'share of the median total'], stageRows)}`
}

function renderFanout (rs: FanoutResult[], runs: number, plots: Record<string, string>): string {
  const parts = rs.map(f => {
    const st = (k: keyof FanoutStages): number => median(f.stages.map(s => s[k]))
    const m = med(f.series, 'mesh')
    const p = med(f.series, 'pdsh')
    const a = med(f.series, 'ansible')
    const ac = med(f.series, 'ansible-cold')
    const plot = plots[`fanout-${f.size}`]
    return `#### ${f.size} hosts

${mdTable(HEAD, seriesRows(f.series, f.series.some(s => s.key === 'pdsh') ? 'pdsh' : 'mesh', runs))}

${Number.isFinite(p) ? `mesh ${ratio(m, p)} pdsh's time` : ''}${Number.isFinite(a) ? `, ${ratio(m, a)} Ansible's (warm), ${ratio(m, ac)} Ansible's without ControlMaster` : ''}.
Every measured run of every tool printed each of the ${f.size} hosts' own address (runs that did not count as failed).
mesh's fan-out from the records (median of ${f.stages.length} \`--json\` runs of \`true\`): first task spawned ${fmtMs(st('firstSpawn'))} after the CLI
started, the last ${fmtMs(st('lastSpawn'))}, the last exited at ${fmtMs(st('lastExit'))}, CLI done at ${fmtMs(st('total'))}.
The ${f.size + 1} idle daemons of this lab used ${fmtNum(f.idleCpu, 0)} % of one core together before the runs.${plot != null ? ` Distribution: [${plot}](${plot}).` : ''}`
  })
  const scaling = plots['fanout-scaling']
  return `### 2. One command on all of N hosts, output collected from every host

One lab per size: host1 plus N hosts; \`mesh push --all\` targets exactly those N with a tag only they
hold (\`nN\`), pdsh and Ansible get the same N addresses. The command is \`hostname -I\` (each host prints
its own address, which is how the benchmark checks that output came back from every host); ${runs} runs of
each tool after 1 unmeasured, rotating. pdsh: \`-R ssh\`, the same ssh options through
\`PDSH_SSH_ARGS_APPEND\`; Ansible ${'`'}ansible-core${'`'} with a generated inventory, \`pipelining = True\`,
\`ANSIBLE_HOST_KEY_CHECKING=False\`, \`ansible_python_interpreter=/usr/bin/python3\` (no interpreter
discovery), \`-f N\` forks. Baseline: pdsh.

${parts.join('\n\n')}
${scaling != null ? `\nMedian time against the number of hosts: [${scaling}](${scaling}).\n` : ''}`
}

function renderTp (r: TpResult, plot: string | undefined): string {
  const mesh = r.rounds.filter(x => x.what === 'mesh')
  const xa = r.rounds.filter(x => x.what === 'xargs')
  const xw = median(xa.map(x => x.wallMs))
  const mw = median(mesh.map(x => x.wallMs))
  const failed = mesh.reduce((n, x) => n + x.failures.length, 0)
  const by = new Map<string, number>()
  for (const x of mesh) for (const [k, v] of x.byRunner) by.set(k, (by.get(k) ?? 0) + v)
  const rows = [
    [`\`seq ${r.tasks} | xargs -P ${r.xargsP} -n1 sh -c true\` (local)`, ...tpCells(xa, xw)],
    [`mesh: ${r.tasks} \`true\` tasks over ${r.hosts} hosts, ${r.concurrency} in flight`, ...tpCells(mesh, xw)]
  ]
  return `### 3. Throughput: ${r.tasks} no-op tasks over ${r.hosts} hosts vs local \`xargs -P\`

mesh: ${r.tasks} \`{command:["true"]}\` tasks with a tag only ${r.hosts} hosts hold (each advertises this machine's
${availableParallelism()} cores, so ${r.hosts * availableParallelism()} run at once), pushed through host1's control socket with ${r.concurrency} in
flight; a round ends when every task has its final record at host1. Baseline: the same number of
\`sh -c true\` spawned locally by \`xargs -P ${r.xargsP}\` (4 × cores): the spawn limit of this machine. ${r.rounds.length / 2} rounds
each, alternating, on one lab after ${r.concurrency * 3} unmeasured tasks.

${mdTable(['what', 'rounds', 'wall median', 'p95', 'spread', 'tasks/s (median)', 'failed', 'median ÷ xargs'], rows)}

**mesh runs ${fmtNum(r.tasks / (mw / 1000), 1)} no-op tasks/s over ${r.hosts} hosts, ${ratio(mw, xw)} the time of local \`xargs -P\`**${failed > 0 ? ` (${failed} tasks failed, see notes)` : ''}.
Tasks per host over all rounds: ${[...by].sort().map(([k, v]) => `${k} ${v}`).join(', ')}.${plot != null ? ` Rounds: [${plot}](${plot}).` : ''}${renderTpCpu(mesh, r.tasks, r.hosts, r.bystanders)}`
}

/** one sentence: what a task costs the machine, from the measured CPU if there is any */
function tpCost (r: TpResult, xargsMs: number, cores: number): string {
  const rounds = r.rounds.filter(x => x.what === 'mesh' && x.cpuMs != null)
  const per = (pick: (c: NonNullable<TpRound['cpuMs']>) => number): number => median(rounds.map(x => pick(x.cpuMs as NonNullable<TpRound['cpuMs']>) / r.tasks))
  const all = per(c => c.dispatcher + c.others + c.tasks)
  if (!Number.isFinite(all)) return 'Each task costs tens of ms of CPU across dispatcher and runner (signed offer, signed records, gossip to every node, level writes).'
  return `Each task costs this machine ${fmtNum(all, 0)} ms of CPU (measured above): ${fmtNum(per(c => c.dispatcher), 1)} ms the dispatcher (signed offer, queue and records in level), ${fmtNum(per(c => c.others), 1)} ms the other daemons together (the runner's launch and signed result, and every daemon receiving, checking, storing and passing on that result), ${fmtNum(per(c => c.tasks), 1)} ms the task's own processes; \`xargs\` needs at most ${fmtNum(xargsMs * cores / r.tasks, 1)} ms per task (its wall time × ${cores} cores).`
}

/** the daemons' CPU per task (the machine's cores are what a no-op task competes for here) */
function renderTpCpu (mesh: TpRound[], tasks: number, runners: number, bystanders: number): string {
  const rounds = mesh.filter(x => x.cpuMs != null && Number.isFinite(x.cpuMs.dispatcher + x.cpuMs.others))
  if (rounds.length === 0) return ''
  const per = (pick: (c: NonNullable<TpRound['cpuMs']>) => number): string => fmtNum(median(rounds.map(x => pick(x.cpuMs as NonNullable<TpRound['cpuMs']>) / tasks)), 2)
  return `\nDaemon CPU per task (utime+stime over each mesh round, minus the daemons' idle rate; median of ${rounds.length}): host1 (dispatcher) ${per(c => c.dispatcher)} ms, all the other daemons together ${per(c => c.others)} ms${bystanders > 0 ? ` (the ${runners} runners ${per(c => c.runners)} ms, the ${bystanders} daemons that only receive the results ${per(c => c.bystanders)} ms, ${per(c => c.bystanders / bystanders)} ms each)` : ''}, in all ${per(c => c.dispatcher + c.others)} ms; the task's own processes (exit-status wrapper shell, \`numactl\` on a multi-node runner, \`true\`: the daemons' reaped children) ${per(c => c.tasks)} ms.`
}

function tpCells (xs: TpRound[], base: number): string[] {
  const w = summarize(xs.map(x => x.wallMs))
  const rt = median(xs.map(x => x.ok / (x.wallMs / 1000)))
  return [String(xs.length), fmtS(w.median), fmtS(w.p95), fmtS(w.spread), fmtNum(rt, rt >= 100 ? 0 : 1), String(xs.reduce((n, x) => n + x.failures.length, 0)), ratio(w.median, base)]
}

function render (r: Results, opts: Options): string {
  const f = r.facts
  const la = (x: number[]): string => x.map(v => v.toFixed(2)).join(' ')
  const parts = [`## mesh vs ssh, pdsh, Ansible and local spawn (\`npm run bench:compare\`)

Run ${f.date.replace(/\.\d+Z$/, 'Z')} on ${f.nproc} cores (${f.cpuModel}), ${fmtNum(f.memTotalGiB)} GiB RAM, Node ${f.node}, Linux ${f.kernel};
${Object.entries(r.versions).map(([k, v]) => `${k} ${v}`).join(', ')}; code measured: ${MESH_MAIN === BUILT_MAIN ? `this checkout, commit ${f.commit}` : `\`MESH_MAIN=${MESH_MAIN}\``}; ${fmtS(r.durationMs)} in all.
Arguments: \`${r.argv.length > 0 ? r.argv.join(' ') : '(defaults)'}\`. Load average (1/5/15 min) at the start ${la(r.load.start)}, at the end ${la(r.load.end)}.

**Set-up.** Every host is a network namespace of this one machine on a private bridge (10.213.0.K,
[docs/lab.md](docs/lab.md)) running both a mesh daemon (default settings: ${defaultTimings()}, process executor,
swarm key, log level info) and its own \`sshd\` on its IP (per-run host key, root by key only). Everything
is started from host1's namespace (\`nsenter --net\`): \`mesh\` talks to host1's daemon through its
control socket, ssh/pdsh/Ansible connect to the other hosts' IPs. **All hosts share ${f.nproc} cores**: a
fan-out to 25 "hosts" runs 25 sshd handshakes or 25 daemons' work on the same CPUs, and the idle
daemons' upkeep loads them too — real hosts would each bring their own CPU, so the fan-out figures
are an upper bound for every tool, and harsher for the one that burns more CPU per host. Nothing is
measured before a lab has run for ${opts.settleS} s (\`--settle\`): daemons are long-running, and their
start-up work (DHT bootstrap, first provide walks, adverts to every newly met peer) is not what a
fan-out pays on a mesh that is up.`]
  if (r.one != null) parts.push(renderOne(r.one, opts.oneRuns, r.plots.one))
  if (r.fanout.length > 0) parts.push(renderFanout(r.fanout, opts.fanoutRuns, r.plots))
  if (r.tp != null) parts.push(renderTp(r.tp, r.plots.throughput))
  parts.push(renderMeaning(r))
  const notes = r.notes.map(n => `- ${n}`)
  if (r.logs.size > 0) {
    notes.push('- daemon log lines at warn or above, over every daemon of the run:')
    for (const [k, n] of [...r.logs].sort((a, b) => b[1] - a[1]).slice(0, 12)) notes.push(`  - ${n} × ${k}`)
  }
  parts.push(`### Notes\n\n${notes.length > 0 ? notes.join('\n') : '- nothing unusual.'}`)
  return parts.join('\n\n')
}

/** The plain-words summary: computed from this run's figures, so it stays true when re-run. */
function renderMeaning (r: Results): string {
  const lines: string[] = []
  if (r.one != null) {
    const m = med(r.one.series, 'mesh')
    const ssh = med(r.one.series, 'ssh')
    const cm = med(r.one.series, 'ssh-cm')
    const cli = median(r.one.stages.map(x => x.cli))
    const inMesh = median(r.one.stages.map(x => x.dispatch + x.process + x.back))
    lines.push(`- **One command on one host:** \`mesh push\` (${fmtMs(m)}) is ${m < ssh ? `faster than a fresh \`ssh\` (${fmtMs(ssh)}: TCP, key exchange and authentication every time)` : `slower than a fresh \`ssh\` (${fmtMs(ssh)})`}, and ${ratio(m, cm)} slower than ssh over an open ControlMaster connection (${fmtMs(cm)}), which is what an interactive user with \`ControlPersist\` gets. ${fmtMs(cli)} (${fmtNum(cli / m * 100, 0)} %) of mesh's time passes before the dispatcher has the task — mostly the CLI process (Node start-up, loading the CLI's modules) — and ${fmtMs(inMesh)} between the dispatcher taking it and the CLI exiting (placement, signed offer, spawn on the runner, signed result gossiped back). For a single quick command to one host, ssh with ControlPersist stays the better tool.`)
  }
  for (const f of r.fanout) {
    const ranked = f.series.filter(s => s.ms.length > 0).map(s => ({ key: s.key, m: median(s.ms) })).sort((a, b) => a.m - b.m)
    const pos = ranked.findIndex(x => x.key === 'mesh')
    const best = ranked[0]
    if (best == null) continue
    lines.push(`- **${f.size} hosts:** ${ranked.map(x => `${x.key} ${fmtMs(x.m)}`).join(' < ')}; mesh is ${pos === 0 ? '**the fastest**' : `number ${pos + 1} of ${ranked.length}, ${ratio(ranked[pos]?.m ?? NaN, best.m)} ${best.key}'s time`}.`)
  }
  if (r.fanout.length > 1) {
    const a = r.fanout[0] as FanoutResult
    const b = r.fanout.at(-1) as FanoutResult
    const grow = (k: string): string => ratio(med(b.series, k), med(a.series, k))
    lines.push(`- **Scaling ${a.size} → ${b.size} hosts** (${fmtNum(b.size / a.size, 1)}× the hosts): mesh ${grow('mesh')} the time, pdsh ${grow('pdsh')}, Ansible ${grow('ansible')} (warm) / ${grow('ansible-cold')} (cold). Everything here shares ${r.facts.nproc} cores, and the idle mesh itself grows with it: ${fmtNum(a.idleCpu, 0)} % of a core for ${a.size + 1} daemons, ${fmtNum(b.idleCpu, 0)} % for ${b.size + 1} (${fmtNum(a.idleCpu / (a.size + 1), 1)} → ${fmtNum(b.idleCpu / (b.size + 1), 1)} % each: every daemon verifies every other's heartbeats), a load real hosts would spread over their own CPUs.`)
  }
  if (r.tp != null) {
    const mw = median(r.tp.rounds.filter(x => x.what === 'mesh').map(x => x.wallMs))
    const xw = median(r.tp.rounds.filter(x => x.what === 'xargs').map(x => x.wallMs))
    lines.push(`- **Many small tasks:** mesh sustains ${fmtNum(r.tp.tasks / (mw / 1000), 1)} no-op tasks/s over ${r.tp.hosts} hosts, ${ratio(mw, xw)} the time local \`xargs -P\` needs (${fmtNum(r.tp.tasks / (xw / 1000), 0)}/s). ${tpCost(r.tp, xw, r.facts.nproc)} So on one machine mesh is no substitute for \`xargs\`/GNU parallel; it pays off when tasks run for seconds or more, or need placement, retries and results that survive a dead host.`)
  }
  lines.push('- **Where mesh wins regardless of speed**: no inventory to keep (hosts are found by tag), output and exit status stored as signed records on every node, retries on another host when one dies; pdsh and Ansible give none of that, Ansible gives idempotent modules mesh does not have.')
  return `### What it means\n\n${lines.join('\n')}`
}

function failureNotes (r: Results): string[] {
  const out: string[] = []
  const list = (what: string, xs: string[]): void => {
    if (xs.length === 0) return
    const kinds = new Map<string, { n: number, example: string }>()
    for (const x of xs) {
      const k = x.replace(/\b[0-9a-z]{15}(-\d+)?\b/g, 'ID').replace(/\d+(\.\d+)?/g, 'N')
      const kind = kinds.get(k) ?? { n: 0, example: x }
      kind.n++
      kinds.set(k, kind)
    }
    out.push(`${what}: ${xs.length} failed — ${[...kinds.values()].map(k => `${k.n} × ${k.example.slice(0, 400)}`).join('; ')}`)
  }
  for (const s of r.one?.series ?? []) list(`one host, ${s.key}`, s.failures)
  for (const f of r.fanout) for (const s of f.series) list(`fan-out ${f.size}, ${s.key}`, s.failures)
  list('throughput', (r.tp?.rounds ?? []).flatMap(x => x.failures))
  return out
}

// ---------------------------------------------------------------- profiles

interface ProfileRow {
  name: string
  phase: string
  summary: ProfileSummary
  whole?: ProfileSummary
  idle?: ProfileSummary
  /** socket writes during the phase by the protocol or service behind them: [caller, ms] */
  writers?: Array<[string, number]>
}

/**
 * The frames between a protocol's write and the socket (stream framing, Noise, the swarm key, Node's
 * stream internals), yamux's own sending and gossipsub's outbound queue: skipped, so a write is
 * credited to what asked for it (a forwarded message, a publish, a protocol's frame).
 */
const WRITE_PLUMBING = /\((node:[^)]*|\(native\)|\(program\)|@libp2p\/utils|@libp2p\/tcp|@chainsafe\/libp2p-noise|mesh node\/pnet|uint8arraylist|it-[^)]*)\)$|^(sendFrame|sendData|send|processSendQueue) \(@chainsafe\/libp2p-yamux\)$|^(pushPrefixed|push|sendRpc) \(@libp2p\/gossipsub\)$/

/** the daemon's (or CLI's) profile files in DIR, by pid */
function profileFiles (dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir).filter(f => f.endsWith('.cpuprofile')).map(f => join(dir, f)) : []
}

function pidOfProfile (file: string): number {
  // CPU.<date>.<time>.<pid>.<tid>.<seq>.cpuprofile
  return Number(file.split('/').at(-1)?.split('.')[3])
}

/** sums several profiles' summaries (the CLI writes one per run) */
function mergeSummaries (xs: ProfileSummary[]): ProfileSummary {
  const merge = (pick: (s: ProfileSummary) => Array<[string, number]>): Array<[string, number]> => {
    const m = new Map<string, number>()
    for (const s of xs) for (const [k, v] of pick(s)) m.set(k, (m.get(k) ?? 0) + v)
    return [...m].sort((a, b) => b[1] - a[1]).slice(0, 20)
  }
  return {
    totalMs: xs.reduce((n, s) => n + s.totalMs, 0),
    busyMs: xs.reduce((n, s) => n + s.busyMs, 0),
    functions: merge(s => s.functions),
    packages: merge(s => s.packages),
    own: merge(s => s.own)
  }
}

function collectProfiles (lab: Lab, phase: string, window: [number, number], who: Array<{ host: NetHost, role: string }>, cliDir?: string): ProfileRow[] {
  const out: ProfileRow[] = []
  const files = profileFiles(lab.profDir)
  for (const { host, role } of who) {
    const f = files.find(x => pidOfProfile(x) === host.pid)
    if (f == null) continue
    // the idle mesh keeps every daemon busy (heartbeats, gossip): what the phase added is the excess
    const all = summarizeProfile(f, 100_000, window)
    const idle = summarizeProfile(f, 100_000, lab.idleWindow)
    const writers = callersOf(f, 'writeBuffer', { window, skip: WRITE_PLUMBING, top: 100 })
    out.push({ name: `${host.name} (${role})`, phase, summary: excessOver(all, idle, 20), whole: all, idle, writers })
  }
  if (cliDir != null) {
    const cli = profileFiles(join(lab.profDir, cliDir)).map(f => summarizeProfile(f, 40))
    if (cli.length > 0) out.push({ name: `mesh CLI (${cli.length} runs summed)`, phase, summary: mergeSummaries(cli) })
  }
  return out
}

function renderProfiles (rows: ProfileRow[], facts: MachineFacts): string {
  const pct = (ms: number, s: ProfileSummary): string => `${fmtNum(ms / s.busyMs * 100, ms / s.busyMs >= 0.1 ? 0 : 1)} %`
  return `## Where mesh's time goes in those comparisons (\`npm run bench:compare -- --cpu-prof\`)

Run ${facts.date.replace(/\.\d+Z$/, 'Z')}, code ${MESH_MAIN === BUILT_MAIN ? `commit ${facts.commit}` : `\`MESH_MAIN=${MESH_MAIN}\``}: the same labs, the daemons (and the
\`mesh\` CLI) run with \`--cpu-prof\`; the timings of a profiled run are slower and are not reported.
For a daemon, the idle mesh already keeps it busy (heartbeats, gossip, keep-alive), so each block
gives its busy share while idle, then **what the phase added beyond idle** (the phase's samples
minus the idle rate over the phase's length), as shares of that excess. The CLI's profile is the
whole process.

${rows.map(p => {
    const s = p.summary
    const head = p.whole != null && p.idle != null
      ? `busy ${fmtNum(p.idle.busyMs / p.idle.totalMs * 100, 0)} % of the time while idle, ${fmtNum(p.whole.busyMs / p.whole.totalMs * 100, 0)} % during the phase; excess ${fmtS(s.busyMs)} over ${fmtS(s.totalMs)}`
      : `${fmtS(s.busyMs)} busy of ${fmtS(s.totalMs)}`
    if (p.whole != null && s.busyMs < 0.05 * p.whole.busyMs) return `**${p.name}, ${p.phase}** — ${head}: no excess over idle worth splitting up.`
    return `**${p.name}, ${p.phase}** — ${head}.
By package (self): ${s.packages.slice(0, 8).map(([k, ms]) => `${k} ${pct(ms, s)}`).join(', ')}.
Functions (self): ${s.functions.slice(0, 8).map(([k, ms]) => `\`${k}\` ${pct(ms, s)}`).join(', ')}.
mesh functions (inclusive): ${s.own.slice(0, 10).map(([k, ms]) => `\`${k}\` ${pct(ms, s)}`).join(', ')}.${renderWriters(p)}`
  }).join('\n\n')}`
}

/**
 * one line: the phase's socket writes by caller, as shares of all its `writeBuffer` time. Writes the
 * swarm-key connection batched (src/node/pnet/write-batch.ts) run from a queued microtask: their
 * senders are not on the stack, so they are one line of their own.
 */
function renderWriters (p: ProfileRow): string {
  const total = (p.writers ?? []).reduce((n, [, ms]) => n + ms, 0)
  if (p.writers == null || p.whole == null || total === 0) return ''
  const share = (ms: number): string => `${fmtNum(ms / total * 100, 0)} %`
  const name = (k: string): string => k === NO_CALLER ? 'batched (sent from a microtask; sender not on the stack)' : `\`${k}\``
  return `\nSocket writes (\`writeBuffer\`, ${fmtNum(total / p.whole.busyMs * 100, 0)} % of the phase's busy time) by caller: ${p.writers.slice(0, 6).map(([k, ms]) => `${name(k)} ${share(ms)}`).join(', ')}.`
}

// ---------------------------------------------------------------- main

async function toolVersion (cmd: string, args: string[], pick: (out: string) => string): Promise<string | undefined> {
  try {
    const r = await run(cmd, args, { timeoutMs: 30_000 })
    return r.code === 0 || r.stdout !== '' || r.stderr !== '' ? pick(`${r.stdout}\n${r.stderr}`) : undefined
  } catch {
    return undefined
  }
}

async function main (argv: string[]): Promise<number> {
  const start = await benchStart(SECTION, argv, parse, HELP, 'homes, daemon logs, keys and profiles')
  if (typeof start === 'number') return start
  const { opts, reaper, workdir, started } = start
  const problem = netnsProblem() ?? sshProblem()
  if (problem != null) {
    console.error(`bench:compare: ${problem}`)
    // the work dir exists already: a refused start leaves nothing behind
    await reaper.cleanup()
    return 1
  }
  const ctx: Ctx = { opts, workdir, reaper, notes: [], tools: {}, keep: start.keep }
  // every sshd, ssh master and lab adds its own last-resort 'exit' hook: 25 hosts are expected
  process.setMaxListeners(200)
  const facts = machineFacts(REPO_ROOT)
  const versions: Record<string, string> = {}
  const ssh = await toolVersion('ssh', ['-V'], o => o.trim().split(',')[0] ?? '?')
  if (ssh != null) versions.ssh = ssh
  const pdsh = await toolVersion('pdsh', ['-V'], o => o.trim().split('\n')[0] ?? '?')
  if (pdsh != null) versions.pdsh = ctx.tools.pdsh = pdsh
  else ctx.notes.push('pdsh is not installed (apt-get install -y pdsh): its rows are missing')
  const ansible = await toolVersion('ansible', ['--version'], o => o.trim().split('\n')[0] ?? '?')
  if (ansible != null) versions.ansible = ctx.tools.ansible = ansible
  else ctx.notes.push('ansible is not installed (apt-get install -y ansible): its rows are missing')
  const loadStart = loadavg()
  console.log(`bench:compare: ${facts.nproc} cores, Node ${facts.node}, load ${loadStart.map(x => x.toFixed(2)).join(' ')}; ${Object.values(versions).join('; ')}; work dir ${workdir}`)
  const results: Results = { facts, versions, argv, load: { start: loadStart, end: [] }, fanout: [], plots: {}, logs: new Map(), notes: ctx.notes, durationMs: 0 }
  const profiles: Array<() => ProfileRow[]> = []
  const labs: Lab[] = []
  try {
    const sizes = opts.only.has('fanout') ? opts.sizes : []
    // the first lab also hosts 1. and 3.; it needs at least the throughput hosts
    const plan = sizes.length > 0 ? sizes : [Math.max(1, opts.only.has('throughput') ? opts.tpHosts : 1)]
    for (let i = 0; i < plan.length; i++) {
      const size = plan[i] as number
      const first = i === 0
      const lab = await labUp(ctx, first ? Math.max(size, opts.only.has('throughput') ? opts.tpHosts : 1) : size, `lab${size}`)
      labs.push(lab)
      const t2 = lab.targets[0] as NetHost
      if (first && opts.only.has('one')) {
        const one = await phaseOne(ctx, lab)
        results.one = { ...one, idleCpu: lab.idleCpu.reduce((a, b) => a + b, 0), hosts: lab.state.hosts.length }
        for (const m of lab.masters.splice(0)) await m.stop()
        profiles.push(...collectProfileLater(lab, '1. one host (mesh push --target host2)', one.window, [{ host: lab.h1, role: 'dispatcher' }, { host: t2, role: 'runner' }], 'cli-push'))
      }
      if (sizes.includes(size)) {
        const fo = await phaseFanout(ctx, lab, lab.targets.length)
        results.fanout.push(fo)
        profiles.push(...collectProfileLater(lab, `2. fan-out to ${fo.size} hosts`, fo.window, [{ host: lab.h1, role: 'dispatcher' }, { host: t2, role: 'runner' }], `cli-all${fo.size}`))
      }
      if (first && opts.only.has('throughput')) {
        results.tp = await phaseThroughput(ctx, lab)
        // and one daemon that holds no throughput tag: what every result costs a node that only keeps it
        const bystander = lab.targets.length > opts.tpHosts ? lab.targets.at(-1) : undefined
        profiles.push(...collectProfileLater(lab, `3. throughput, ${opts.tasks} tasks over ${opts.tpHosts} hosts`, results.tp.window, [
          { host: lab.h1, role: 'dispatcher' }, { host: t2, role: 'runner' }, ...(bystander != null ? [{ host: bystander, role: 'bystander' }] : [])
        ]))
      }
      await labDown(ctx, lab)
      results.logs = mergeCounts(results.logs, warnings(lab.state.hosts.map(h => join(h.home, 'daemon.log'))))
    }
    results.load.end = loadavg()
    results.durationMs = performance.now() - started
    checkInterrupted(ctx)

    if (opts.cpuProf) {
      const rows = profiles.flatMap(p => p())
      const section = renderProfiles(rows, facts)
      await publishSection(opts, PROFILE_SECTION, section, facts)
      return 0
    }

    if (opts.write) await writePlots(results)
    ctx.notes.unshift(...failureNotes(results))
    const section = render(results, opts)
    await publishSection(opts, SECTION, section, facts, ` and ${Object.keys(results.plots).length} plots in docs/bench/`)
    return 0
  } catch (err) {
    return await benchFailed('bench:compare', start, err, { interrupted: err instanceof Interrupted })
  } finally {
    if (!reaper.interrupted) await reaper.cleanup()
  }
}

/** profiles are written when the daemons exit: read them after labDown */
function collectProfileLater (lab: Lab, phase: string, window: [number, number], who: Array<{ host: NetHost, role: string }>, cliDir?: string): Array<() => ProfileRow[]> {
  // host pids are cleared by nothing in labDown, so they still name the profile files
  const pids = who.map(w => ({ host: { ...w.host }, role: w.role }))
  return [() => collectProfiles(lab, phase, window, pids, cliDir)]
}

function mergeCounts (a: Map<string, number>, b: Map<string, number>): Map<string, number> {
  const out = new Map(a)
  for (const [k, v] of b) out.set(k, (out.get(k) ?? 0) + v)
  return out
}

async function writePlots (r: Results): Promise<void> {
  const label = (s: Series): string => s.key
  if (r.one != null) {
    r.plots.one = await writePlot('compare-one-host', boxPlotSvg('One no-op on one remote host (from host1)', 'ms', r.one.series.map(s => ({ label: label(s), values: s.ms }))))
  }
  for (const f of r.fanout) {
    r.plots[`fanout-${f.size}`] = await writePlot(`compare-fanout-${f.size}`, boxPlotSvg(`hostname -I on ${f.size} hosts, output from each`, 'ms', f.series.map(s => ({ label: label(s), values: s.ms }))))
  }
  if (r.fanout.length > 1) {
    const keys = [...new Set(r.fanout.flatMap(f => f.series.map(s => s.key)))]
    r.plots['fanout-scaling'] = await writePlot('compare-fanout-scaling', linePlotSvg('Fan-out: median time vs number of hosts', 'hosts', 'median wall time (ms)',
      keys.map(k => ({ label: k, points: r.fanout.map((f): [number, number] => [f.size, med(f.series, k)]) }))))
  }
  if (r.tp != null) {
    const tp = r.tp
    r.plots.throughput = await writePlot('compare-throughput', boxPlotSvg(`${tp.tasks} no-op tasks: wall time per round`, 's', [
      { label: `xargs -P ${tp.xargsP} (local)`, values: tp.rounds.filter(x => x.what === 'xargs').map(x => x.wallMs / 1000) },
      { label: `mesh, ${tp.hosts} hosts`, values: tp.rounds.filter(x => x.what === 'mesh').map(x => x.wallMs / 1000) }
    ]))
  }
}

process.exitCode = await main(process.argv.slice(2))
