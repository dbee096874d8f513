/**
 * A multi-host lab on one machine: N Linux network namespaces ("hosts") joined by veth pairs to one
 * bridge, each running its own `mesh start` daemon with its own home, on its own IP and the standard
 * port. Cutting a host's cable is `ip link set <veth> down` on the bridge side.
 *
 *              root namespace                         namespace <ns of hostK>
 *   ┌───────────────────────────────────┐        ┌──────────────────────────────┐
 *   │ bridge mnl<run>br (no IP)         │        │ lo up                        │
 *   │   ├─ veth mnl<run>h1 ─────────────┼────────┼─ eth0 10.213.0.K/24          │
 *   │   ├─ veth mnl<run>h2 ── …         │        │ mesh start --home DIR/hostK  │
 *   │   └─ …                            │        │   --listen /ip4/10.213.0.K/… │
 *   └───────────────────────────────────┘        └──────────────────────────────┘
 *
 * Every name carries a random run id, so two labs at once never collide (each has its own bridge,
 * so they may even share a subnet). The bridge has no address: the root namespace gets no route,
 * and the CLI reaches a host's daemon through the unix socket in its home (the file system is
 * shared by every namespace).
 *
 * State lives in DIR/netlab.json, written before each thing is created, so `teardown(DIR)` finds
 * everything even after a crash half way through `up`; a lab owned by a process (a test run) is
 * also registered in /run/mesh-netlab/, so the next run can reap it when that process died.
 *
 * Network and teardown functions are synchronous on purpose: teardown must also work from a
 * process 'exit' handler, where nothing asynchronous runs any more.
 */
import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { MESH_MAIN, NODE, alive, run } from './proc.js'
import { cmdline } from './procfs.js'
import {
  NETLAB_PREFIX, NetLabError, allPids, environ, fitNeighbourTable, hostIp, ip, netnsProblem, nsPids, sh, sleepSync, subnetProblem, usedNames, waitAllGone
} from './netns-sys.js'
import type { Reaper } from './proc.js'
import type { NodeInfo } from '../../src/node/views.js'

export { NETLAB_PREFIX, NetLabError, gone, netnsProblem, nsPids, subnetProblem } from './netns-sys.js'
export { leftovers, reapStale, teardown } from './netns-teardown.js'
export type { TeardownReport } from './netns-teardown.js'

export const DEFAULT_SUBNET = '10.213.0.0/24'
export const MESH_PORT = 7420
export const MAX_HOSTS = 50
export const STATE_FILE = 'netlab.json'
export const REGISTRY_DIR = '/run/mesh-netlab'
/** set in every daemon's environment: finds a lab's daemons even without its state file */
export const MARKER_ENV = 'MESH_NETLAB'

export interface NetHost {
  /** host1 … hostN */
  name: string
  index: number
  /** network namespace */
  ns: string
  /** the bridge side of the host's veth pair (the namespace side is eth0) */
  veth: string
  ip: string
  home: string
  /** the daemon (leader of its own session and process group); null while it is down */
  pid: number | null
  id: string
  /** /ip4/<ip>/tcp/7420/p2p/<id>, for --bootstrap */
  addr: string
  tags: string[]
  /** its link is down (netlab cut) */
  cut: boolean
}

export interface NetLabState {
  version: 1
  runId: string
  dir: string
  createdAt: string
  /** the process whose lab this is (a test run), or null for a lab started from the command line */
  owner: number | null
  subnet: string
  bridge: string
  swarmKey: string
  /** written into every home's config.json before its first start */
  config: Record<string, unknown>
  logLevel: string
  hosts: NetHost[]
}

// ---------------------------------------------------------------------------------------------
// state

export function statePath (dir: string): string {
  return join(dir, STATE_FILE)
}

export function readNetState (dir: string): NetLabState | undefined {
  const path = statePath(dir)
  if (!existsSync(path)) return undefined
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as NetLabState
  } catch {
    return undefined
  }
}

export function writeNetState (state: NetLabState): void {
  writeFileSync(statePath(state.dir), JSON.stringify(state, null, 2) + '\n', { mode: 0o600 })
}

function register (state: NetLabState): void {
  try {
    mkdirSync(REGISTRY_DIR, { recursive: true, mode: 0o700 })
    writeFileSync(join(REGISTRY_DIR, `${state.runId}.json`), JSON.stringify({ dir: state.dir, owner: state.owner }) + '\n', { mode: 0o600 })
  } catch { /* best effort: the state file is what counts */ }
}

export function unregister (runId: string): void {
  rmSync(join(REGISTRY_DIR, `${runId}.json`), { force: true })
}

export interface RegisteredRun { runId: string, dir: string, owner: number | null }

/** every lab registered on this machine (since boot: /run is a tmpfs) */
export function registeredRuns (): RegisteredRun[] {
  if (!existsSync(REGISTRY_DIR)) return []
  const out: RegisteredRun[] = []
  for (const f of readdirSync(REGISTRY_DIR)) {
    if (!f.endsWith('.json')) continue
    try {
      const r = JSON.parse(readFileSync(join(REGISTRY_DIR, f), 'utf8')) as { dir: string, owner: number | null }
      out.push({ runId: f.slice(0, -5), dir: r.dir, owner: r.owner })
    } catch { /* a torn file: ignore */ }
  }
  return out
}

/** labs whose owning process is gone (a test run that was SIGKILLed before its teardown) */
export function staleRuns (): RegisteredRun[] {
  return registeredRuns().filter(r => r.owner != null && (!alive(r.owner) || !cmdline(r.owner).includes('node')))
}

/** a run id no namespace or link of this machine uses yet */
export function newRunId (): string {
  const used = usedNames()
  for (;;) {
    const id = randomBytes(2).toString('hex')
    if (![...used].some(n => n.startsWith(`${NETLAB_PREFIX}${id}`))) return id
  }
}

// ---------------------------------------------------------------------------------------------
// building the network

export interface CreateLabOptions {
  dir: string
  hosts: number
  /** tags of host K at index K-1; missing entries mean no tags */
  tags?: string[][]
  subnet?: string
  /** the process owning the lab (tests): its death makes the lab stale */
  owner?: number | null
  /** extra config.json fields for every home (e.g. fast heartbeat timings) */
  config?: Record<string, unknown>
  logLevel?: string
}

/**
 * Creates DIR, the state file, the bridge, and per host a namespace, a veth pair and a home.
 * Throws on the first failure; the caller tears down (everything created is in the state file).
 */
export function createLab (opts: CreateLabOptions): NetLabState {
  const dir = resolve(opts.dir)
  const subnet = opts.subnet ?? DEFAULT_SUBNET
  if (!Number.isInteger(opts.hosts) || opts.hosts < 1 || opts.hosts > MAX_HOSTS) throw new NetLabError(`hosts: a whole number from 1 to ${MAX_HOSTS} (got ${opts.hosts})`)
  const problem = netnsProblem() ?? subnetProblem(subnet, opts.hosts)
  if (problem != null) throw new NetLabError(problem)
  if (readNetState(dir) != null) throw new NetLabError(`${dir} already holds a lab; take it down first (netlab down --dir ${dir})`)

  mkdirSync(dir, { recursive: true, mode: 0o700 })
  // the default DIR (.netlab) sits in the repository: keep git from listing it
  writeFileSync(join(dir, '.gitignore'), '*\n')
  const runId = newRunId()
  const p = `${NETLAB_PREFIX}${runId}`
  const state: NetLabState = {
    version: 1,
    runId,
    dir,
    createdAt: new Date().toISOString(),
    owner: opts.owner ?? null,
    subnet,
    bridge: `${p}br`,
    swarmKey: join(dir, 'swarm.key'),
    config: opts.config ?? {},
    logLevel: opts.logLevel ?? 'info',
    hosts: []
  }
  const prefixLen = subnet.split('/')[1] ?? '24'
  for (let k = 1; k <= opts.hosts; k++) {
    state.hosts.push({
      name: `host${k}`,
      index: k,
      ns: `${p}-host${k}`,
      veth: `${p}h${k}`,
      ip: hostIp(subnet, k),
      home: join(dir, `host${k}`),
      pid: null,
      id: '',
      addr: '',
      tags: opts.tags?.[k - 1] ?? [],
      cut: false
    })
  }
  writeNetState(state)
  register(state)

  fitNeighbourTable(opts.hosts)
  ip(['link', 'add', state.bridge, 'type', 'bridge'])
  ip(['link', 'set', state.bridge, 'up'])
  for (const h of state.hosts) {
    ip(['netns', 'add', h.ns])
    ip(['-n', h.ns, 'link', 'set', 'lo', 'up'])
    // the namespace end is created inside the namespace, so its name never meets the root's eth0
    ip(['link', 'add', h.veth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', h.ns])
    ip(['link', 'set', h.veth, 'master', state.bridge])
    ip(['link', 'set', h.veth, 'up'])
    ip(['-n', h.ns, 'addr', 'add', `${h.ip}/${prefixLen}`, 'dev', 'eth0'])
    ip(['-n', h.ns, 'link', 'set', 'eth0', 'up'])
    mkdirSync(h.home, { recursive: true, mode: 0o700 })
    // a readable name in `mesh peers` instead of the host name every namespace shares
    writeFileSync(join(h.home, 'config.json'), JSON.stringify({ version: 1, name: h.name, ...state.config }) + '\n', { mode: 0o600 })
  }
  return state
}

// ---------------------------------------------------------------------------------------------
// daemons

export interface StartOptions {
  reaper?: Reaper
  timeoutMs?: number
  /** extra environment for this host's daemon only (e.g. NODE_OPTIONS=--cpu-prof) */
  env?: NodeJS.ProcessEnv
}

/** `mesh swarm-key --out DIR/swarm.key` */
export async function makeSwarmKey (state: NetLabState, opts: StartOptions = {}): Promise<void> {
  const r = await run(NODE, [MESH_MAIN, 'swarm-key', '--out', state.swarmKey], { ...(opts.reaper != null ? { reaper: opts.reaper } : {}) })
  if (r.code !== 0) throw new NetLabError(`mesh swarm-key failed: ${r.stderr.trim()}`)
}

/** the `mesh start` arguments of a host (after `start`) */
export function startArgs (state: NetLabState, host: NetHost, bootstrap: string[]): string[] {
  const args = ['--detach', '--json', '--home', host.home, '--listen', `/ip4/${host.ip}/tcp/${MESH_PORT}`, '--no-mdns', '--swarm-key', state.swarmKey]
  if (host.tags.length > 0) args.push('--tags', host.tags.join(','))
  for (const b of bootstrap) args.push('--bootstrap', b)
  return args
}

/**
 * Starts (or restarts, same home) a host's daemon inside its namespace with `mesh start --detach`
 * and records its pid, id and address. `bootstrap` defaults to every other host with a known address.
 */
export async function startHost (state: NetLabState, host: NetHost, bootstrap?: string[], opts: StartOptions = {}): Promise<NetHost> {
  if (host.pid != null && isHostDaemon(state, host, host.pid)) throw new NetLabError(`${host.name} is already running (pid ${host.pid})`)
  const peers = bootstrap ?? state.hosts.filter(h => h !== host && h.addr !== '').map(h => h.addr)
  const r = await run('ip', ['netns', 'exec', host.ns, NODE, MESH_MAIN, 'start', ...startArgs(state, host, peers)], {
    env: { ...opts.env, MESH_LOG_LEVEL: state.logLevel, [MARKER_ENV]: state.runId },
    timeoutMs: opts.timeoutMs ?? 90_000,
    ...(opts.reaper != null ? { reaper: opts.reaper } : {})
  })
  if (r.code !== 0) throw new NetLabError(`${host.name}: mesh start failed (exit ${r.code ?? r.signal ?? '?'}): ${r.stderr.trim()}; see ${join(host.home, 'daemon.log')}`)
  const info = JSON.parse(r.stdout) as NodeInfo
  host.pid = info.pid
  host.id = info.id
  host.addr = `/ip4/${host.ip}/tcp/${MESH_PORT}/p2p/${info.id}`
  writeNetState(state)
  return host
}

/**
 * Starts every host: host1 first (everyone bootstraps to it), host2 next (host3… also bootstrap to
 * it: a star around one node is fragile for gossip), then the rest in parallel.
 */
export async function startAll (state: NetLabState, opts: StartOptions = {}): Promise<void> {
  const [first, second, ...rest] = state.hosts
  if (first == null) return
  await startHost(state, first, [], opts)
  if (second == null) return
  await startHost(state, second, [first.addr], opts)
  await Promise.all(rest.map(async h => startHost(state, h, [first.addr, second.addr], opts)))
}

function isHostDaemon (state: NetLabState, host: NetHost, pid: number): boolean {
  return alive(pid) && cmdline(pid).includes('main.js start') && (cmdline(pid).includes(`--home ${host.home} `) || environ(pid).includes(`${MARKER_ENV}=${state.runId}\n`))
}

/** daemons of the lab: the run's marker in their environment, or `--home DIR/…` on their command line */
export function daemonPids (state: Pick<NetLabState, 'runId' | 'dir'>): number[] {
  return allPids().filter(pid => {
    const cmd = cmdline(pid)
    if (!cmd.includes('main.js')) return false
    return cmd.includes(`--home ${state.dir}/`) || environ(pid).includes(`${MARKER_ENV}=${state.runId}\n`)
  })
}

/**
 * kill -9. By default only the daemon's process group (the daemon crashes; its tasks, in their own
 * groups, live on); with `everything`, every process in the host's namespace (the machine dies).
 */
export function killHost (state: NetLabState, host: NetHost, { everything = false } = {}): number[] {
  const victims = new Set<number>()
  if (host.pid != null && isHostDaemon(state, host, host.pid)) victims.add(host.pid)
  for (const pid of daemonPids(state)) if (cmdline(pid).includes(`--home ${host.home} `)) victims.add(pid)
  if (everything) for (const pid of nsPids(host.ns)) victims.add(pid)
  for (const pid of victims) {
    try { process.kill(-pid, 'SIGKILL') } catch { /* not a group leader, or gone */ }
    try { process.kill(pid, 'SIGKILL') } catch { /* gone */ }
  }
  // a task may fork while we kill: repeat until the namespace is empty
  for (let i = 0; everything && i < 50; i++) {
    const left = nsPids(host.ns)
    if (left.length === 0) break
    for (const pid of left) { try { process.kill(pid, 'SIGKILL') } catch { /* gone */ } }
    sleepSync(100)
  }
  waitAllGone([...victims], 5_000)
  host.pid = null
  writeNetState(state)
  return [...victims]
}

/** the host's cable is cut: its bridge-side veth goes down (the namespace side sees NO-CARRIER) */
export function cutHost (state: NetLabState, host: NetHost): void {
  ip(['link', 'set', host.veth, 'down'])
  host.cut = true
  writeNetState(state)
}

export function healHost (state: NetLabState, host: NetHost): void {
  ip(['link', 'set', host.veth, 'up'])
  host.cut = false
  writeNetState(state)
}

/**
 * Gives the host a NIC of `rate` (tc syntax: 1gbit, 200mbit) both ways: a token bucket on the
 * namespace's eth0 (what it sends) and on the bridge side of its veth (what it receives), so the
 * lab's links, not only its shared CPU, limit a transfer, as on separate machines.
 */
export function limitLink (state: NetLabState, host: NetHost, rate: string): void {
  if (!/^\d+(\.\d+)?(k|m|g)?bit$/.test(rate)) throw new NetLabError(`link rate '${rate}': expected e.g. 1gbit, 200mbit`)
  // burst ≥ rate / HZ or tbf cannot reach its rate; 4 MiB covers 1gbit at any HZ
  const tbf = ['root', 'tbf', 'rate', rate, 'burst', '4mb', 'latency', '100ms']
  for (const [cmd, args] of [['tc', ['qdisc', 'replace', 'dev', host.veth, ...tbf]], ['ip', ['netns', 'exec', host.ns, 'tc', 'qdisc', 'replace', 'dev', 'eth0', ...tbf]]] as const) {
    const r = sh(cmd, [...args])
    if (r.code !== 0) throw new NetLabError(`${cmd} ${args.join(' ')}: ${r.stderr.trim() || `exit ${r.code}`}`)
  }
}

/** `host3`, `3` → the host */
export function findHost (state: NetLabState, which: string): NetHost {
  const h = state.hosts.find(x => x.name === which || String(x.index) === which || x.ns === which)
  if (h == null) throw new NetLabError(`no host '${which}' in this lab (hosts: ${state.hosts.map(x => x.name).join(', ')})`)
  return h
}

export function hostRunning (state: NetLabState, host: NetHost): boolean {
  return host.pid != null && isHostDaemon(state, host, host.pid)
}
