/**
 * A multi-host lab: N network namespaces joined by veth pairs to one bridge, each running its own
 * mesh daemon and home on its own IP (root only; see docs/lab.md). `cut`/`heal` pull and replug a
 * host's cable, `kill`/`restart` crash and bring back its daemon.
 *
 *   npm run netlab -- up --hosts 4
 *   MESH_HOME=.netlab/host2 bin/mesh peers
 *   npm run netlab -- cut host3 && npm run netlab -- heal host3
 *   npm run netlab -- down
 */
import { existsSync } from 'node:fs'
import { relative, resolve } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { parseArgs } from 'node:util'
import { Reaper, mesh, meshJson, nodeVersionProblem } from './lib/proc.js'
import {
  DEFAULT_SUBNET, MAX_HOSTS, NetLabError, createLab, cutHost, findHost, healHost, hostRunning, killHost,
  leftovers, makeSwarmKey, netnsProblem, readNetState, reapStale, registeredRuns, startAll, startHost, statePath, teardown
} from './lib/netns.js'
import type { NetLabState, TeardownReport } from './lib/netns.js'
import type { PeerEntry } from '../src/node/views.js'

const DEFAULT_DIR = '.netlab'
const DEFAULT_HOSTS = 3
/** heartbeat timings of `--fast`: what the lab tests use */
const FAST_TIMINGS = { heartbeatIntervalMs: 500, offlineAfterMs: 2_500 }

const HELP = `Usage: npm run netlab -- <command> [options]

A multi-host mesh lab on this machine (needs root and iproute2): every host is a network
namespace with its own IP on a private bridge, its own daemon and its own home.

Commands:
  up              build the network, start a daemon in every host (host2… bootstrap to host1),
                  wait until host1 sees all of them online
  down            kill every process of the lab, delete its namespaces, veths and bridge, remove
                  DIR; also cleans a lab whose 'up' crashed half way
  down --stale    take down every lab of a test run that died (registered in /run/mesh-netlab)
  status          hosts (daemon up or down, link up or cut) and host1's view: mesh peers
  cut HOST        pull HOST's cable: its veth goes down on the bridge side
  heal HOST       plug it back in
  kill HOST       kill -9 HOST's daemon (its running tasks live on, as after a daemon crash)
  kill HOST --all kill -9 every process in HOST's namespace (the machine dies)
  restart HOST    start HOST's daemon again with the same home, address and swarm key
  help            this text
HOST is host1 … hostN, or just its number.

Options:
  --dir DIR       folder of the lab (default ${DEFAULT_DIR}): netlab.json, swarm.key, homes DIR/hostK
  --hosts N       up: how many hosts (default ${DEFAULT_HOSTS}, at most ${MAX_HOSTS})
  --tags SPEC     up: tags per host, ';' between hosts, ',' between tags (default: hostK has tag hK)
  --subnet CIDR   up: private IPv4 network of the hosts, host K is .K (default ${DEFAULT_SUBNET});
                  refused when it overlaps a route of this machine
  --fast          up: fast heartbeats (${FAST_TIMINGS.heartbeatIntervalMs} ms, offline after ${FAST_TIMINGS.offlineAfterMs} ms), as the tests use
  --log-level L   up: the daemons' MESH_LOG_LEVEL (default info; logs in DIR/hostK/daemon.log)
  --json          status: host1's peers as JSON
  -h, --help      this text

Examples:
  sudo npm run netlab -- up --hosts 4 --fast
  MESH_HOME=.netlab/host1 bin/mesh push --tag h3 -- hostname -I
  npm run netlab -- cut 3; sleep 30; npm run netlab -- heal 3
  ip netns exec "$(jq -r '.hosts[2].ns' .netlab/netlab.json)" ip addr      # look inside host3
  npm run netlab -- down`

interface Options {
  command: string
  args: string[]
  dir: string
  hosts: number
  tags: string | undefined
  subnet: string
  fast: boolean
  logLevel: string
  json: boolean
  all: boolean
  stale: boolean
}

class UsageError extends Error {
  override readonly name = 'UsageError'
}

function parse (argv: string[]): Options {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      dir: { type: 'string', default: DEFAULT_DIR },
      hosts: { type: 'string', default: String(DEFAULT_HOSTS) },
      tags: { type: 'string' },
      subnet: { type: 'string', default: DEFAULT_SUBNET },
      fast: { type: 'boolean', default: false },
      'log-level': { type: 'string', default: 'info' },
      json: { type: 'boolean', default: false },
      all: { type: 'boolean', default: false },
      stale: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false }
    }
  })
  const command = values.help ? 'help' : positionals[0] ?? 'help'
  const hosts = Number(values.hosts)
  if (!Number.isInteger(hosts) || hosts < 1 || hosts > MAX_HOSTS) throw new UsageError(`--hosts: must be a whole number from 1 to ${MAX_HOSTS} (got '${values.hosts}')`)
  if (values.dir.trim() === '') throw new UsageError('--dir: must not be empty')
  const args = positionals.slice(1)
  const wantsHost = ['cut', 'heal', 'kill', 'restart'].includes(command)
  if (wantsHost && args.length !== 1) throw new UsageError(`${command}: name one host (host1 … hostN or its number)`)
  if (!wantsHost && args.length > 0) throw new UsageError(`${command}: unexpected argument '${args.join(' ')}'`)
  return {
    command,
    args,
    dir: resolve(values.dir),
    hosts,
    tags: values.tags,
    subnet: values.subnet,
    fast: values.fast,
    logLevel: values['log-level'],
    json: values.json,
    all: values.all,
    stale: values.stale
  }
}

/** "a,b;;c" → [['a','b'], [], ['c']] padded to n; without a spec host K gets tag hK */
function tagsPerHost (spec: string | undefined, n: number): string[][] {
  if (spec == null) return Array.from({ length: n }, (_, i) => [`h${i + 1}`])
  const entries = spec.split(';').map(e => e.split(',').map(t => t.trim()).filter(t => t !== ''))
  return Array.from({ length: n }, (_, i) => entries[i] ?? [])
}

function show (path: string): string {
  const rel = relative(process.cwd(), path)
  return rel !== '' && !rel.startsWith('..') ? rel : path
}

function dirFlag (dir: string): string {
  return resolve(DEFAULT_DIR) === dir ? '' : ` --dir ${show(dir)}`
}

async function up (opts: Options): Promise<number> {
  const problem = netnsProblem()
  if (problem != null) {
    console.error(`netlab: ${problem}`)
    return 1
  }
  if (readNetState(opts.dir) != null) {
    console.error(`a lab is already in ${show(opts.dir)}; run: npm run netlab -- down${dirFlag(opts.dir)}`)
    return 1
  }
  const reaper = new Reaper()
  reaper.onCleanup(() => { printTeardown(teardown(opts.dir), true) })
  reaper.installSignalHandlers()
  try {
    const state = createLab({
      dir: opts.dir,
      hosts: opts.hosts,
      tags: tagsPerHost(opts.tags, opts.hosts),
      subnet: opts.subnet,
      config: opts.fast ? FAST_TIMINGS : {},
      logLevel: opts.logLevel
    })
    console.log(`run ${state.runId}: bridge ${state.bridge}, ${state.hosts.length} namespaces on ${state.subnet}`)
    await makeSwarmKey(state, { reaper })
    process.stdout.write('starting daemons… ')
    await startAll(state, { reaper })
    console.log('done')
    process.stdout.write(`waiting until host1 sees all ${opts.hosts} hosts online… `)
    const first = state.hosts[0]!
    const deadline = Date.now() + 30_000 + 3_000 * opts.hosts
    for (;;) {
      const peers = await meshJson<PeerEntry[]>(['peers', '--home', first.home], { reaper }).catch(() => [])
      const online = peers.filter(p => p.state === 'online').length
      if (online >= opts.hosts) break
      if (Date.now() > deadline) throw new NetLabError(`host1 sees only ${online} of ${opts.hosts} hosts online; see the daemon.log files under ${show(opts.dir)}`)
      await sleep(500)
    }
    console.log('done\n')
    printLab(state)
    return 0
  } catch (err) {
    if (reaper.interrupted) return new Promise<number>(() => {})
    console.error(`\nnetlab up failed: ${(err as Error).message}\ntaking the lab down again…`)
    printTeardown(teardown(opts.dir), true)
    return 1
  }
}

function printLab (state: NetLabState): void {
  const head = ['HOST', 'NAMESPACE', 'VETH', 'ADDRESS', 'PID', 'PEER ID', 'TAGS', 'DAEMON', 'LINK']
  const rows = state.hosts.map(h => [
    h.name, h.ns, h.veth, h.ip, String(h.pid ?? '-'), h.id === '' ? '-' : `${h.id.slice(0, 8)}…${h.id.slice(-6)}`,
    h.tags.join(',') || '-', hostRunning(state, h) ? 'up' : 'DOWN', h.cut ? 'CUT' : 'up'
  ])
  const widths = head.map((x, i) => Math.max(x.length, ...rows.map(r => (r[i] ?? '').length)))
  const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd()
  console.log(line(head))
  for (const r of rows) console.log(line(r))
  const d = show(state.dir)
  const flag = dirFlag(state.dir)
  console.log(`
Talk to a host (the CLI reaches its daemon through DIR/hostK/mesh.sock, from any namespace):
  MESH_HOME=${d}/host1 bin/mesh peers
  MESH_HOME=${d}/host1 bin/mesh push --tag h2 -- hostname -I
  ip netns exec ${state.hosts[0]?.ns ?? ''} ip addr

Faults: npm run netlab -- cut|heal|kill|restart hostK${flag}
Logs: ${d}/hostK/daemon.log · status: npm run netlab -- status${flag} · stop: npm run netlab -- down${flag}`)
}

function printTeardown (r: TeardownReport, quiet = false): void {
  if (!quiet || r.problems.length > 0) {
    console.log(`${show(r.dir)}${r.runId != null ? ` (run ${r.runId})` : ''}: killed ${r.killed} process(es), deleted ${r.namespaces.length} namespace(s) and ${r.links.length} link(s)`)
  }
  for (const p of r.problems) console.error(`  not clean: ${p}`)
}

function down (opts: Options): number {
  if (opts.stale || opts.all) {
    const reports = opts.all ? registeredRuns().map(r => teardown(r.dir, r.runId)) : reapStale()
    if (reports.length === 0) console.log(opts.all ? 'no registered labs' : 'no stale labs')
    for (const r of reports) printTeardown(r)
    return reports.every(r => r.problems.length === 0) ? 0 : 1
  }
  if (!existsSync(opts.dir)) {
    console.log(`no lab in ${show(opts.dir)}`)
    return 0
  }
  const r = teardown(opts.dir)
  printTeardown(r)
  if (r.problems.length > 0) return 1
  if (r.runId != null && leftovers(r.runId).length > 0) return 1
  console.log(`removed ${show(opts.dir)}`)
  return 0
}

function loadState (opts: Options): NetLabState {
  const state = readNetState(opts.dir)
  if (state == null) throw new NetLabError(`no lab in ${show(opts.dir)} (no ${show(statePath(opts.dir))}); start one with: npm run netlab -- up`)
  return state
}

async function status (opts: Options): Promise<number> {
  const state = loadState(opts)
  const first = state.hosts[0]
  if (opts.json) {
    if (first == null) return 1
    const r = await mesh(['peers', '--home', first.home, '--json'])
    process.stdout.write(r.stdout)
    process.stderr.write(r.stderr)
    return r.code ?? 1
  }
  printLab(state)
  if (first == null || !hostRunning(state, first)) return 0
  console.log(`\nhost1 sees (MESH_HOME=${show(first.home)} bin/mesh peers):`)
  const r = await mesh(['peers', '--home', first.home])
  process.stdout.write(r.stdout)
  process.stderr.write(r.stderr)
  return r.code ?? 1
}

async function fault (opts: Options): Promise<number> {
  const problem = netnsProblem()
  if (problem != null) throw new NetLabError(problem)
  const state = loadState(opts)
  const host = findHost(state, opts.args[0] ?? '')
  switch (opts.command) {
    case 'cut':
      cutHost(state, host)
      console.log(`${host.name}: link ${host.veth} down`)
      return 0
    case 'heal':
      healHost(state, host)
      console.log(`${host.name}: link ${host.veth} up`)
      return 0
    case 'kill': {
      const pids = killHost(state, host, { everything: opts.all })
      console.log(pids.length === 0 ? `${host.name}: nothing was running` : `${host.name}: killed ${pids.join(', ')}${opts.all ? ' (every process of the namespace)' : ''}`)
      return 0
    }
    case 'restart':
      await startHost(state, host)
      console.log(`${host.name}: daemon pid ${host.pid ?? '?'} (${host.addr})`)
      return 0
  }
  return 2
}

async function main (argv: string[]): Promise<number> {
  let opts: Options
  try {
    opts = parse(argv)
  } catch (err) {
    console.error(`netlab: ${(err as Error).message}\n(run with --help for usage)`)
    return 2
  }
  const problem = nodeVersionProblem()
  if (problem != null && opts.command !== 'help') {
    console.error(`netlab: ${problem}`)
    return 1
  }
  try {
    switch (opts.command) {
      case 'up': return await up(opts)
      case 'down': return down(opts)
      case 'status': return await status(opts)
      case 'cut': case 'heal': case 'kill': case 'restart': return await fault(opts)
      case 'help': console.log(HELP); return 0
      default:
        console.error(`netlab: unknown command '${opts.command}'\n\n${HELP}`)
        return 2
    }
  } catch (err) {
    if (err instanceof NetLabError) {
      console.error(`netlab: ${err.message}`)
      return 1
    }
    throw err
  }
}

// `npm run netlab -- status | head` closes the pipe early: not an error
process.stdout.on('error', (err: NodeJS.ErrnoException) => { if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0); else throw err })
process.exitCode = await main(process.argv.slice(2))
