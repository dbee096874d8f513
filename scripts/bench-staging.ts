/**
 * File staging benchmark on the multi-host lab (scripts/lib/netns.ts): one dispatcher host and
 * --hosts target hosts (network namespaces, each with its own IP, mesh daemon and sshd). A random
 * input file (256 MiB by default) is copied from the dispatcher to every target by
 *
 *   - mesh:        `mesh push --all --tag stage --json task.json`, the task's `files` holding the
 *                  input and its command `stat -c '%s %n' input.bin` (the copy is there, whole)
 *   - pdcp:        `pdcp -R ssh -w IPS input DEST/`
 *   - scp, one host after the other, and scp to every host at once (`&` … `wait`)
 *   - rsync --checksum to every host at once
 *
 * then the SECOND copy of the same input: mesh skips it by hash, rsync --checksum compares and
 * skips, pdcp and scp copy again. Every command runs inside the dispatcher's namespace; times are
 * wall clock of the whole command. Every target's copy is hashed afterwards, untimed, for every tool
 * (mesh's in each runner's work dir of the task). Bytes sent = what the dispatcher's veth carried.
 *
 * Every namespace shares the file system, so each sshd runs in its own mount namespace with a
 * per-host folder bind-mounted at one DEST path (scripts/lib/staging-sshd.ts).
 *
 * Rewrites the <!-- bench:staging --> section of BENCHMARKS.md and docs/bench/staging-*.svg.
 */
import { createHash, randomBytes } from 'node:crypto'
import { createReadStream, existsSync, readFileSync, readdirSync } from 'node:fs'
import { mkdir, open, rm, writeFile } from 'node:fs/promises'
import { loadavg } from 'node:os'
import { join, resolve } from 'node:path'
import { performance } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import { parseArgs } from 'node:util'
import { benchFailed, benchStart } from './lib/bench-main.js'
import { monotonicUs, summarizeProfile } from './lib/cpuprofile.js'
import { warnings } from './lib/daemon-logs.js'
import { createLab, limitLink, makeSwarmKey, netnsProblem, startHost, teardown } from './lib/netns.js'
import { loadPlots, profileOf, startMesh, stopHostGracefully, waitConverged } from './lib/netns-mesh.js'
import { BUILT_MAIN, MESH_MAIN, NODE, REPO_ROOT, run } from './lib/proc.js'
import { machineFacts } from './lib/procfs.js'
import { fmtNum, fmtS, mdTable, publishSection } from './lib/report.js'
import { ensureSshTools, startLabSshd } from './lib/staging-sshd.js'
import { median, summarize } from './lib/stats.js'
import { whole } from './lib/args.js'
import type { ProfileSummary } from './lib/cpuprofile.js'
import type { NetHost, NetLabState } from './lib/netns.js'
import type { LabSsh } from './lib/staging-sshd.js'
import type { Reaper, RunResult } from './lib/proc.js'
import type { MachineFacts } from './lib/procfs.js'
import type { TaskRecord } from '../src/protocols/results/index.js'

const SECTION = 'bench:staging'
/** a link-limited run keeps its own section and plots next to the unlimited one */
const sectionOf = (o: { linkRate?: string | undefined }): string => o.linkRate != null ? `${SECTION}-${o.linkRate}` : SECTION
const TAG = 'stage'
const FILE = 'input.bin'

const HELP = `Usage: npm run bench:staging -- [options]

Needs root, 'ip netns', OpenSSH (server and client), pdsh and rsync (installed with apt-get when
missing). Builds a lab of 1 + --hosts network namespaces, each with a mesh daemon and an sshd, and
copies a random --size-mib MiB file from host1 to every other host with mesh push --all (files,
copied into each work dir, and marked readOnly, linked), pdcp, scp (sequential and parallel) and rsync --checksum; then the same again (mesh and rsync skip
by hash). Rewrites the bench:staging section of BENCHMARKS.md and docs/bench/staging-*.svg.
About 15 minutes with the defaults. Run it under flock /tmp/mesh-bench.lock.

Options:
  --hosts 10             target hosts
  --size-mib 256         input size
  --samples 3            samples of every tool (first and second copy each)
  --only LIST            tools: mesh,mesh-ro,pdcp,scp-seq,scp-par,rsync (mesh-ro: the file
                         marked readOnly, a hard link into each work dir instead of a copy)
  --concurrency 4        daemons started at once
  --subnet CIDR          lab subnet (default 10.213.0.0/24)
  --link-rate RATE       give every host a link of RATE both ways (tc tbf: 1gbit, 200mbit), as
                         separate machines have; the report goes to its own section
                         (bench:staging-RATE) and plots (staging-RATE-*.svg)
  --no-cpu-prof          skip the profiled mesh push at the end (dispatcher and one target with --cpu-prof)
  --out FILE             report file (default BENCHMARKS.md in the repository)
  --no-write             print the report, do not touch BENCHMARKS.md or the plots
  --keep                 keep the lab's homes, logs and profiles afterwards (the inputs are removed)
  -h, --help             this text

Everything (namespaces, bridge, daemons, sshds, the copies and the input) is removed at the end,
on failure and on Ctrl-C. Set MESH_MAIN=/path/to/dist/src/cli/main.js to measure another build.`

type Tool = 'mesh' | 'mesh-ro' | 'pdcp' | 'scp-seq' | 'scp-par' | 'rsync'
type MeshTool = Extract<Tool, 'mesh' | 'mesh-ro'>
const TOOLS: readonly Tool[] = ['mesh', 'mesh-ro', 'pdcp', 'scp-seq', 'scp-par', 'rsync']
const isMesh = (t: Tool): t is MeshTool => t === 'mesh' || t === 'mesh-ro'
const LABEL: Record<Tool, string> = {
  mesh: '`mesh push --all` (task `files`: a copy in each work dir)',
  'mesh-ro': '`mesh push --all`, the file `"readOnly": true` (a link to each runner\'s cache)',
  pdcp: '`pdcp -R ssh -w IPS`',
  'scp-seq': '`scp`, one host after the other',
  'scp-par': '`scp` to every host at once (`&` … `wait`)',
  rsync: '`rsync --checksum -e ssh`, every host at once'
}

interface Options {
  hosts: number
  sizeMiB: number
  samples: number
  only: Tool[]
  concurrency: number
  subnet: string | undefined
  /** tc rate of every host's link, both ways; undefined: unlimited (the CPU limits) */
  linkRate: string | undefined
  cpuProf: boolean
  out: string
  write: boolean
  keep: boolean
}

function parse (argv: string[]): Options | 'help' {
  const { values } = parseArgs({
    args: argv,
    options: {
      hosts: { type: 'string', default: '10' },
      'size-mib': { type: 'string', default: '256' },
      samples: { type: 'string', default: '3' },
      only: { type: 'string', default: TOOLS.join(',') },
      concurrency: { type: 'string', default: '4' },
      subnet: { type: 'string' },
      'link-rate': { type: 'string' },
      'no-cpu-prof': { type: 'boolean', default: false },
      out: { type: 'string', default: join(REPO_ROOT, 'BENCHMARKS.md') },
      'no-write': { type: 'boolean', default: false },
      keep: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false }
    }
  })
  if (values.help) return 'help'
  const only = values.only.split(',').map(s => s.trim())
  for (const t of only) if (!(TOOLS as readonly string[]).includes(t)) throw new Error(`--only: unknown tool '${t}' (${TOOLS.join(', ')})`)
  return {
    hosts: whole('--hosts', values.hosts, 1, 49),
    sizeMiB: whole('--size-mib', values['size-mib'], 1, 4096),
    samples: whole('--samples', values.samples, 1),
    only: TOOLS.filter(t => only.includes(t)),
    concurrency: whole('--concurrency', values.concurrency, 1),
    subnet: values.subnet,
    linkRate: values['link-rate'],
    cpuProf: !values['no-cpu-prof'],
    out: resolve(values.out),
    write: !values['no-write'],
    keep: values.keep
  }
}

// ---------------------------------------------------------------- measurements

interface Sample {
  tool: Tool
  copy: 'first' | 'second'
  sample: number
  ms: number
  /** bytes the dispatcher's link carried while the command ran */
  bytes: number
  ok: boolean
  problem?: string
  /** mesh: submit → the last runner started the task (files received and in place) */
  stagedMs?: number
  /** mesh: files the dispatcher sent, over every runner (from its 'task placed' log lines) */
  sentFiles?: number
}

interface Lab {
  state: NetLabState
  dispatcher: NetHost
  targets: NetHost[]
  ssh: LabSsh
  input: string
  sha256: string
  taskFile: string
  /** the same task, its file marked readOnly */
  readOnlyTaskFile: string
  reaper: Reaper
  sizeBytes: number
}

function linkBytes (lab: Lab): number {
  // the bridge side of the dispatcher's veth receives what the dispatcher sends
  try { return Number(readFileSync(`/sys/class/net/${lab.dispatcher.veth}/statistics/rx_bytes`, 'utf8').trim()) } catch { return NaN }
}

async function inDispatcher (lab: Lab, cmd: string, args: string[], env?: NodeJS.ProcessEnv): Promise<RunResult> {
  return run('ip', ['netns', 'exec', lab.dispatcher.ns, cmd, ...args], { reaper: lab.reaper, timeoutMs: 900_000, ...(env != null ? { env } : {}) })
}

async function sha256File (path: string): Promise<string> {
  const h = createHash('sha256')
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer)
  return h.digest('hex')
}

/** checks every target's copy of an ssh tool; '' when all are identical to the input */
async function checkCopies (lab: Lab): Promise<string> {
  const bad: string[] = []
  for (const t of lab.targets) {
    const f = join(lab.ssh.destOf(t), FILE)
    if (!existsSync(f)) { bad.push(`${t.name}: missing`); continue }
    const h = await sha256File(f)
    if (h !== lab.sha256) bad.push(`${t.name}: hash ${h.slice(0, 12)}…`)
  }
  return bad.join('; ')
}

/** the copy in each runner's work dir of the task (runners keep it after the task ends) */
async function checkMeshCopies (lab: Lab, records: TaskRecord[]): Promise<string> {
  const bad: string[] = []
  for (const r of records) {
    const t = lab.targets.find(x => x.id === r.runner)
    if (t == null) { bad.push(`${r.runnerName ?? r.runner}: not a target`); continue }
    const f = join(t.home, 'tasks', `${r.id}.${r.attempt}`, 'work', FILE)
    if (!existsSync(f)) { bad.push(`${t.name}: missing`); continue }
    const h = await sha256File(f)
    if (h !== lab.sha256) bad.push(`${t.name}: hash ${h.slice(0, 12)}…`)
  }
  return bad.join('; ')
}

async function cleanSsh (lab: Lab): Promise<void> {
  for (const t of lab.targets) {
    const d = lab.ssh.destOf(t)
    for (const f of existsSync(d) ? readdirSync(d) : []) await rm(join(d, f), { recursive: true, force: true })
  }
}

/** removes every target's file cache and task work dirs (the next push is a cold one) */
async function cleanMesh (lab: Lab): Promise<void> {
  for (const t of lab.targets) {
    await rm(join(t.home, 'cache'), { recursive: true, force: true })
    const tasks = join(t.home, 'tasks')
    for (const d of existsSync(tasks) ? readdirSync(tasks) : []) await rm(join(tasks, d, 'work'), { recursive: true, force: true })
  }
}

function sshCommand (lab: Lab, tool: Exclude<Tool, MeshTool>): [string, string[], NodeJS.ProcessEnv | undefined] {
  const ips = lab.targets.map(t => t.ip)
  const cfg = lab.ssh.config
  const dest = lab.ssh.dest
  switch (tool) {
    case 'pdcp':
      return ['pdcp', ['-R', 'ssh', '-w', ips.join(','), lab.input, `${dest}/${FILE}`], { PDSH_SSH_ARGS: `-F ${cfg} -l%u %h` }]
    case 'scp-seq':
      return ['sh', ['-c', `for h in ${ips.join(' ')}; do scp -q -F '${cfg}' '${lab.input}' "$h:${dest}/${FILE}" || exit 1; done`], undefined]
    case 'scp-par':
      return ['sh', ['-c', `for h in ${ips.join(' ')}; do scp -q -F '${cfg}' '${lab.input}' "$h:${dest}/${FILE}" & done; wait`], undefined]
    case 'rsync':
      return ['sh', ['-c', `for h in ${ips.join(' ')}; do rsync -q --checksum -e "ssh -F '${cfg}'" '${lab.input}' "$h:${dest}/${FILE}" & done; wait`], undefined]
  }
}

async function sshSample (lab: Lab, tool: Exclude<Tool, MeshTool>, copy: Sample['copy'], sample: number): Promise<Sample> {
  const [cmd, args, env] = sshCommand(lab, tool)
  const b0 = linkBytes(lab)
  const r = await inDispatcher(lab, cmd, args, env)
  const bytes = linkBytes(lab) - b0
  const problem = r.code !== 0 ? `exit ${r.code ?? r.signal ?? '?'}: ${r.stderr.trim().split('\n')[0] ?? ''}` : await checkCopies(lab)
  return { tool, copy, sample, ms: r.ms, bytes, ok: problem === '', ...(problem !== '' ? { problem } : {}) }
}

async function meshSample (lab: Lab, tool: MeshTool, copy: Sample['copy'], sample: number): Promise<Sample> {
  const b0 = linkBytes(lab)
  const t0 = Date.now()
  const taskFile = tool === 'mesh-ro' ? lab.readOnlyTaskFile : lab.taskFile
  const r = await run(NODE, [MESH_MAIN, 'push', '--home', lab.dispatcher.home, '--all', '--tag', TAG, '--json', taskFile], { reaper: lab.reaper, timeoutMs: 900_000 })
  const bytes = linkBytes(lab) - b0
  let records: TaskRecord[] = []
  let problem = ''
  try {
    const parsed = JSON.parse(r.stdout) as TaskRecord | TaskRecord[]
    records = Array.isArray(parsed) ? parsed : [parsed]
  } catch {
    problem = `exit ${r.code ?? r.signal ?? '?'}, no JSON: ${r.stderr.trim().split('\n')[0] ?? ''}`
  }
  if (problem === '') {
    // the task prints the size of its copy; the copy's content is checked below, untimed, like the other tools'
    const good = records.filter(x => x.state === 'succeeded' && x.stdout.includes(`${lab.sizeBytes} ${FILE}`))
    if (good.length !== lab.targets.length) problem = `${good.length} of ${lab.targets.length} runners reported the input's size (${records.filter(x => x.state !== 'succeeded').map(x => `${x.state}: ${x.error ?? x.stderr.slice(0, 80)}`).join('; ')})`
    else problem = await checkMeshCopies(lab, good)
  }
  const started = records.map(x => Date.parse(x.startedAt ?? '')).filter(Number.isFinite)
  const ids = new Set(records.map(x => x.id))
  let sentFiles = 0
  for (const line of readFileSync(join(lab.dispatcher.home, 'daemon.log'), 'utf8').split('\n')) {
    if (!line.includes('task placed')) continue
    try {
      const rec = JSON.parse(line) as { task?: string, sentFiles?: number }
      if (rec.task != null && ids.has(rec.task)) sentFiles += rec.sentFiles ?? 0
    } catch { /* not JSON */ }
  }
  return {
    tool, copy, sample, ms: r.ms, bytes, ok: problem === '', ...(problem !== '' ? { problem } : {}),
    stagedMs: started.length > 0 ? Math.max(...started) - t0 : NaN,
    sentFiles
  }
}

// ---------------------------------------------------------------- setup

async function makeInput (path: string, bytes: number): Promise<string> {
  const h = createHash('sha256')
  const f = await open(path, 'w', 0o600)
  try {
    const chunk = 4 * 1024 * 1024
    for (let done = 0; done < bytes; done += chunk) {
      const buf = randomBytes(Math.min(chunk, bytes - done))
      h.update(buf)
      await f.write(buf)
    }
  } finally {
    await f.close()
  }
  return h.digest('hex')
}

interface Profiles { window: [number, number], ms: number, list: Array<{ host: string, role: string, summary: ProfileSummary }>, note?: string }

/** dispatcher and the first target restarted with --cpu-prof; one cold push; both stopped; profiles over the push */
async function profiledPush (lab: Lab, profDir: string): Promise<Profiles> {
  const pair: Array<[NetHost, string]> = [[lab.dispatcher, 'dispatcher'], [lab.targets[0] as NetHost, 'target']]
  await mkdir(profDir, { recursive: true })
  for (const [h] of pair) {
    await stopHostGracefully(lab.state, h, lab.reaper)
    await startHost(lab.state, h, undefined, { reaper: lab.reaper, timeoutMs: 180_000, env: { NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --cpu-prof --cpu-prof-dir=${profDir}`.trim() } })
  }
  await waitConverged([lab.dispatcher], lab.targets.length, 60_000, 1_000)
  await sleep(3_000)
  await cleanMesh(lab)
  const w0 = monotonicUs()
  const s = await meshSample(lab, 'mesh', 'first', 0)
  const window: [number, number] = [w0, monotonicUs()]
  const pids = pair.map(([h]) => h.pid as number)
  for (const [h] of pair) await stopHostGracefully(lab.state, h, lab.reaper)
  const list: Profiles['list'] = []
  for (const [i, [h, role]] of pair.entries()) {
    const file = profileOf(profDir, pids[i] as number)
    if (file != null) list.push({ host: h.name, role, summary: summarizeProfile(file, 20, window) })
  }
  return { window, ms: s.ms, list, ...(s.ok ? {} : { note: `the profiled push failed: ${s.problem ?? ''}` }) }
}

// ---------------------------------------------------------------- report

interface Results {
  facts: MachineFacts
  argv: string[]
  sshVersion: string
  hosts: number
  sizeBytes: number
  linkRate?: string
  startMs: number
  samples: Sample[]
  profiles?: Profiles
  load: { start: number[], end: number[] }
  notes: string[]
  logs: Array<[string, number]>
  durationMs: number
}

function render (r: Results, plotLinks: string[], plotNote: string | undefined): string {
  const f = r.facts
  const total = r.sizeBytes * r.hosts
  const mib = (b: number): string => `${fmtNum(b / 2 ** 20, 0)} MiB`
  const table = (copy: Sample['copy']): string => {
    const ok = (t: Tool): Sample[] => r.samples.filter(s => s.tool === t && s.copy === copy && s.ok)
    const base = median(ok('pdcp').map(s => s.ms))
    const rows = TOOLS.filter(t => r.samples.some(s => s.tool === t)).map(t => {
      const all = r.samples.filter(s => s.tool === t && s.copy === copy)
      const sm = summarize(ok(t).map(s => s.ms))
      const rat = Number.isFinite(base) && base > 0 ? `${fmtNum(sm.median / base, 2)}×` : '-'
      return [LABEL[t], `${ok(t).length}/${all.length}`, fmtS(sm.median), fmtS(sm.p95), `${fmtS(sm.min)}–${fmtS(sm.max)} (${fmtS(sm.spread)})`, rat,
        copy === 'first' ? `${fmtNum(total / 2 ** 20 / (sm.median / 1000), 0)} MiB/s` : '-',
        mib(median(all.map(s => s.bytes)))]
    })
    return mdTable(['tool', 'ok / samples', 'median', 'p95', 'min–max (spread)', '÷ pdcp', 'aggregate rate', 'bytes sent by host1 (median)'], rows)
  }
  const pd = r.samples.filter(s => s.tool === 'pdcp' && s.copy === 'first' && s.ok)
  const meshLines = (['mesh', 'mesh-ro'] as const).filter(t => r.samples.some(s => s.tool === t)).flatMap(t => {
    const m1 = r.samples.filter(s => s.tool === t && s.copy === 'first' && s.ok)
    const m2 = r.samples.filter(s => s.tool === t && s.copy === 'second' && s.ok)
    const into = t === 'mesh' ? 'the copy into the work dir' : 'a hard link into the work dir'
    return [
      `- ${t}, first push: the last runner started ${fmtS(median(m1.map(s => s.stagedMs ?? NaN)))} (median) after \`mesh push\` was spawned — the copy itself, its hash check on arrival and ${into}; the rest of the ${fmtS(median(m1.map(s => s.ms)))} is the task and its results. Files the dispatcher sent: ${m1.map(s => s.sentFiles ?? 0).join(', ')} per sample, of ${r.hosts} targets (the others fetched it from runners that held it or were still receiving it: cut-through).`,
      `- ${t}, second push: files sent ${m2.map(s => s.sentFiles ?? 0).join(', ')} per sample (the runners already hold the hash); bytes on host1's link ${mib(median(m2.map(s => s.bytes)))} (median) vs ${mib(median(m1.map(s => s.bytes)))} the first time; the last runner started ${fmtS(median(m2.map(s => s.stagedMs ?? NaN)))} after the push was spawned (${into}).`,
      `- ${t}: its time includes what the others do not do: each runner hashes what it receives before it keeps it, then ${t === 'mesh' ? 'copies it from its cache into the task\'s work dir' : 'links it from its cache into the task\'s work dir'}; staging alone (to the last runner's start) vs pdcp: ${fmtNum(median(m1.map(s => s.stagedMs ?? NaN)) / median(pd.map(s => s.ms)), 2)}×.`
    ]
  })
  const prof = r.profiles
  const profText = prof == null
    ? '- no profile (run without --no-cpu-prof)'
    : [
        `One cold \`mesh push --all\` with the dispatcher (host1) and one target (host2) restarted under \`--cpu-prof\` (${fmtS(prof.ms)}, slower for the profiling); shares of their busy samples over the push.${prof.note != null ? ` ${prof.note}.` : ''}`,
        '',
        ...prof.list.map(p => {
          const pct = (ms: number): string => `${fmtNum(ms / p.summary.busyMs * 100, 0)} %`
          return `- **${p.role}** (${p.host}; on CPU ${fmtS(p.summary.busyMs)} of ${fmtS(p.summary.totalMs)}): by package ${p.summary.packages.slice(0, 8).map(([k, ms]) => `${k} ${pct(ms)}`).join(', ')}; functions (self) ${p.summary.functions.slice(0, 8).map(([k, ms]) => `\`${k}\` ${pct(ms)}`).join(', ')}; mesh (inclusive) ${p.summary.own.slice(0, 6).map(([k, ms]) => `\`${k}\` ${pct(ms)}`).join(', ')}`
        })
      ].join('\n')
  const raw = TOOLS.filter(t => r.samples.some(s => s.tool === t)).map(t => `- ${t}: ${r.samples.filter(s => s.tool === t).map(s => `${s.copy} #${s.sample} ${fmtS(s.ms)} ${mib(s.bytes)}${s.ok ? '' : ` FAILED (${s.problem ?? ''})`}`).join('; ')}`)
  const notes = [...r.notes.map(n => `- ${n}`)]
  for (const s of r.samples) if (!s.ok) notes.push(`- ${s.tool} ${s.copy} #${s.sample} failed: ${s.problem ?? ''}`)
  if (r.logs.length > 0) {
    notes.push('- daemon log lines at warn or above, over every daemon of the run:')
    for (const [k, n] of r.logs.slice(0, 10)) notes.push(`  - ${n} × ${k}`)
  }
  const la = (x: number[]): string => x.map(v => v.toFixed(2)).join(' ')
  return `## File staging: ${mib(r.sizeBytes)} to ${r.hosts} hosts${r.linkRate != null ? `, ${r.linkRate} links` : ''}, mesh vs pdcp, scp, rsync (\`npm run bench:staging${r.linkRate != null ? ` -- --link-rate ${r.linkRate}` : ''}\`)

Run ${f.date.replace(/\.\d+Z$/, 'Z')} on ${f.nproc} cores (${f.cpuModel}), ${fmtNum(f.memTotalGiB)} GiB RAM, Node ${f.node},
Linux ${f.kernel}, ${r.sshVersion}; code measured: ${MESH_MAIN === BUILT_MAIN ? `this checkout, commit ${f.commit}` : `\`MESH_MAIN=${MESH_MAIN}\``}; ${fmtS(r.durationMs)} in all.
Arguments: \`${r.argv.length > 0 ? r.argv.join(' ') : '(defaults)'}\`. Load average (1/5/15 min) at the start ${la(r.load.start)}, at the end ${la(r.load.end)}.
A lab of ${r.hosts + 1} network namespaces on one bridge (veth links, ${r.linkRate != null ? `each host's link limited to ${r.linkRate} both ways by a tc token bucket, as separate machines with their own NICs, though still sharing this machine's ${f.nproc} cores` : `no bandwidth limit: the
limit is this machine's ${f.nproc} cores`}), each with a mesh daemon (default settings, mesh up in
${fmtS(r.startMs)}) and an OpenSSH server (ed25519 keys, default ciphers, key-only root login).
host1 dispatches; hosts 2–${r.hosts + 1} hold the tag \`${TAG}\`. Every command runs in host1's
namespace; time = wall clock of the whole command. The input is ${mib(r.sizeBytes)} of random bytes
(no compression helps anyone). Each sample runs every tool, first copy then second copy, in a
rotating order; copies and mesh file caches are removed between samples, so every first copy is
cold on the receiving side (the input itself stays in the page cache for all). Each copy is checked
afterwards, not timed: every tool's copy on every target is hashed (mesh's in the task's work dir,
after a task \`stat -c '%s %n' input.bin\` that must print the input's size on every runner; a mesh
runner also hashes each file as it arrives and keeps only a whole one). *Bytes sent*: what host1's veth carried
while the command ran (payload, encryption, TCP/IP headers; heartbeats too).

### First copy (cold)

${table('first')}

### Second copy of the same input

mesh asks each runner which hashes it lacks and sends nothing it holds; \`rsync --checksum\` hashes
both ends and skips; pdcp and scp copy everything again.

${table('second')}

${meshLines.join('\n')}

${plotLinks.length > 0 ? `Plots: ${plotLinks.join(' · ')}.` : `Plots: ${plotNote ?? 'not written (--no-write)'}.`}

### Where mesh's time goes (\`--cpu-prof\`)

${profText}

<details><summary>every sample</summary>

${raw.join('\n')}

</details>

### Notes

${notes.length > 0 ? notes.join('\n') : '- nothing unusual.'}`
}

async function plots (r: Results, write: boolean): Promise<{ links: string[], note?: string }> {
  if (!write) return { links: [] }
  const lib = await loadPlots()
  if (typeof lib === 'string') return { links: [], note: lib }
  const links: string[] = []
  for (const copy of ['first', 'second'] as const) {
    const series = TOOLS.filter(t => r.samples.some(s => s.tool === t)).map(t => ({ label: t, values: r.samples.filter(s => s.tool === t && s.copy === copy && s.ok).map(s => s.ms / 1000) }))
    const path = await lib.writePlot(`${r.linkRate != null ? `staging-${r.linkRate}` : 'staging'}-${copy}`, lib.boxPlotSvg(`${fmtNum(r.sizeBytes / 2 ** 20, 0)} MiB to ${r.hosts} hosts, ${copy} copy`, 's', series))
    links.push(`[${copy} copy](${path})`)
  }
  return { links }
}

// ---------------------------------------------------------------- main

async function main (argv: string[]): Promise<number> {
  const start = await benchStart('bench:staging', argv, parse, HELP, 'lab homes, logs and profiles')
  if (typeof start === 'number') return start
  const { opts, reaper, workdir, started } = start
  const facts = machineFacts(REPO_ROOT)
  const dir = join(workdir, 'lab')
  const notes: string[] = []
  const problem = netnsProblem()
  if (problem != null) { console.error(`bench:staging: ${problem}`); await reaper.cleanup(); return 1 }
  const missing = await ensureSshTools([
    { bin: '/usr/sbin/sshd', pkg: 'openssh-server' }, { bin: '/usr/bin/ssh', pkg: 'openssh-client' }, { bin: '/usr/bin/scp', pkg: 'openssh-client' },
    { bin: '/usr/bin/pdcp', pkg: 'pdsh' }, { bin: '/usr/bin/pdsh', pkg: 'pdsh' }, { bin: '/usr/bin/rsync', pkg: 'rsync' }
  ])
  if (missing != null) {
    if (opts.only.some(t => !isMesh(t))) { console.error(`bench:staging: ${missing}`); await reaper.cleanup(); return 1 }
    notes.push(missing)
  }
  const load0 = loadavg()
  try {
    console.log(`bench:staging: ${facts.nproc} cores; work dir ${workdir}`)
    const state = createLab({ dir, hosts: opts.hosts + 1, tags: [[], ...Array.from({ length: opts.hosts }, () => [TAG])], owner: process.pid, ...(opts.subnet != null ? { subnet: opts.subnet } : {}) })
    // torn down on Ctrl-C and on a plain exit too (synchronous, idempotent; the run id finds the
    // namespaces even when the work dir with the state file is already gone)
    reaper.onCleanup(() => { teardown(dir, state.runId) })
    process.once('exit', () => { teardown(dir, state.runId) })
    if (opts.linkRate != null) for (const h of state.hosts) limitLink(state, h, opts.linkRate)
    await makeSwarmKey(state, { reaper })
    const s = await startMesh(state, state.hosts, { reaper, concurrency: opts.concurrency })
    if (s.failed.length > 0) throw new Error(`daemons did not start: ${s.failed.map(x => `${x.host.name}: ${x.error}`).join('; ')}`)
    const dispatcher = state.hosts[0] as NetHost
    const targets = state.hosts.slice(1)
    const conv = await waitConverged(state.hosts, opts.hosts, 180_000)
    if (!conv.converged) throw new Error(`the mesh did not converge: ${[...conv.seen].map(([k, n]) => `${k} sees ${n}`).join(', ')}`)
    console.log(`  ${state.hosts.length} daemons up in ${fmtS(s.ms)}, converged in ${fmtS(conv.ms)}`)
    const ssh = await startLabSshd(join(workdir, 'ssh'), targets, dispatcher, reaper)
    const sshVersion = (await run('ssh', ['-V'])).stderr.trim()
    const sizeBytes = opts.sizeMiB * 2 ** 20
    const input = join(workdir, FILE)
    const sha256 = await makeInput(input, sizeBytes)
    reaper.onCleanup(async () => { await rm(input, { force: true }) })
    const taskFile = join(workdir, 'task.json')
    const readOnlyTaskFile = join(workdir, 'task-ro.json')
    const task = (readOnly: boolean): string => JSON.stringify({ name: 'staging-check', command: ['stat', '-c', '%s %n', FILE], timeoutSec: 900, files: [{ src: FILE, dest: FILE, ...(readOnly ? { readOnly } : {}) }] }, null, 2)
    await writeFile(taskFile, task(false))
    await writeFile(readOnlyTaskFile, task(true))
    const lab: Lab = { state, dispatcher, targets, ssh, input, sha256, taskFile, readOnlyTaskFile, reaper, sizeBytes }
    console.log(`  sshd on ${targets.length} hosts; input ${opts.sizeMiB} MiB, sha256 ${sha256.slice(0, 16)}…`)
    const df = await run('df', ['-h', '/tmp', workdir])
    console.log(df.stdout.trim())

    const results: Results = { facts, argv, sshVersion, hosts: opts.hosts, sizeBytes, ...(opts.linkRate != null ? { linkRate: opts.linkRate } : {}), startMs: s.ms, samples: [], load: { start: load0, end: [] }, notes, logs: [], durationMs: 0 }
    for (let k = 1; k <= opts.samples; k++) {
      const order = opts.only.map((_, i) => opts.only[(i + k - 1) % opts.only.length] as Tool)
      for (const tool of order) {
        if (reaper.interrupted) return new Promise<number>(() => {})
        for (const copy of ['first', 'second'] as const) {
          const x = isMesh(tool) ? await meshSample(lab, tool, copy, k) : await sshSample(lab, tool, copy, k)
          results.samples.push(x)
          console.log(`  sample ${k} ${tool} ${copy}: ${fmtS(x.ms)}, ${fmtNum(x.bytes / 2 ** 20, 0)} MiB sent${x.stagedMs != null ? `, staged ${fmtS(x.stagedMs)}, sentFiles ${x.sentFiles ?? '?'}` : ''}${x.ok ? '' : ` FAILED: ${x.problem ?? ''}`}`)
        }
        if (isMesh(tool)) await cleanMesh(lab)
        else await cleanSsh(lab)
        await sleep(1_000)
      }
    }
    if (opts.cpuProf && opts.only.some(isMesh)) {
      console.log('  profiled push…')
      results.profiles = await profiledPush(lab, join(workdir, 'prof'))
      await cleanMesh(lab)
    }
    results.load.end = loadavg()
    results.logs = [...warnings(readdirSync(dir).map(d => join(dir, d, 'daemon.log')))].sort((a, b) => b[1] - a[1])
    results.durationMs = performance.now() - started
    await ssh.stop()
    const p = await plots(results, opts.write)
    const section = render(results, p.links, p.note)
    if (opts.write) {
      await mkdir(join(REPO_ROOT, 'docs', 'bench'), { recursive: true })
      await writeFile(join(REPO_ROOT, 'docs', 'bench', `${sectionOf(opts).replace('bench:', '')}-results.json`), JSON.stringify(results, null, 1) + '\n')
    }
    await publishSection(opts, sectionOf(opts), section, facts)
    return results.samples.every(x => x.ok) ? 0 : 1
  } catch (err) {
    // its work dir holds gigabytes of copies: not kept
    return await benchFailed('bench:staging', start, err, { keep: false })
  } finally {
    if (!reaper.interrupted) {
      teardown(dir)
      await reaper.cleanup()
    }
  }
}

process.exitCode = await main(process.argv.slice(2))
