/**
 * A local lab: N mesh daemons on one machine, each with its own home under DIR, on loopback, with
 * one swarm key. `up` starts them (node2… bootstrap to node1), `down` stops them and removes DIR,
 * `status` shows what node1 sees.
 *
 *   npm run lab -- up --nodes 5
 *   MESH_HOME=.lab/node2 bin/mesh peers
 *   npm run lab -- down
 */
import { existsSync } from 'node:fs'
import { mkdir, rm, writeFile } from 'node:fs/promises'
import { join, relative, resolve } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { parseArgs } from 'node:util'
import { daemonPidsFor, isMeshDaemon, nodeHomes, readState, statePath, writeState } from './lib/lab-state.js'
import { Reaper, alive, killGroup, loopbackAddr, mesh, meshJson, nodeVersionProblem, waitGone } from './lib/proc.js'
import type { LabNode, LabState } from './lib/lab-state.js'
import type { NodeInfo, PeerEntry } from '../src/node/views.js'

const DEFAULT_DIR = '.lab'
const DEFAULT_NODES = 3
const DEFAULT_TAGS = 'xai,junos;regression;'
const MAX_NODES = 50

const HELP = `Usage: npm run lab -- <command> [options]

A local mesh lab: several daemons on this machine, each with its own home, on 127.0.0.1 only.

Commands:
  up       generate a swarm key, start the daemons one after the other (node2… bootstrap to
           node1, node3… also to node2), wait until node1 sees all of them online, print how to
           talk to each one
  down     stop every daemon of the lab (mesh stop, then SIGKILL whatever is left) and remove DIR
  status   the lab's daemons (pid alive or not) and node1's view: mesh peers
  help     this text

Options:
  --dir DIR       folder of the lab (default ${DEFAULT_DIR}); node homes are DIR/node1 … DIR/nodeN
  --nodes N       up: how many daemons (default ${DEFAULT_NODES}, at most ${MAX_NODES})
  --tags SPEC     up: tags per node, ';' between nodes, ',' between tags; entry K is nodeK's,
                  an empty or missing entry means no tags (default "${DEFAULT_TAGS}")
  --json          status: node1's peers as JSON
  -h, --help      this text

Examples:
  npm run lab -- up
  npm run lab -- up --nodes 5 --tags "xai,junos;regression;gpu;;xai"
  MESH_HOME=.lab/node2 bin/mesh peers --tag xai
  npm run lab -- status
  npm run lab -- down

Daemon logs: DIR/nodeK/daemon.log. Set MESH_LOG_LEVEL=debug before 'up' for more detail;
MESH_MAIN=/path/to/dist/src/cli/main.js runs another build of mesh.`

interface Options {
  command: string
  dir: string
  nodes: number
  tags: string
  json: boolean
}

function parse (argv: string[]): Options {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      dir: { type: 'string', default: DEFAULT_DIR },
      nodes: { type: 'string', default: String(DEFAULT_NODES) },
      tags: { type: 'string', default: DEFAULT_TAGS },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false }
    }
  })
  if (positionals.length > 1) throw new UsageError(`one command at a time (got: ${positionals.join(' ')})`)
  const command = values.help ? 'help' : positionals[0] ?? 'help'
  const nodes = Number(values.nodes)
  if (!Number.isInteger(nodes) || nodes < 1 || nodes > MAX_NODES) throw new UsageError(`--nodes: must be a whole number from 1 to ${MAX_NODES} (got '${values.nodes}')`)
  if (values.dir.trim() === '') throw new UsageError('--dir: must not be empty')
  return { command, dir: resolve(values.dir), nodes, tags: values.tags, json: values.json }
}

class UsageError extends Error {
  override readonly name = 'UsageError'
}

/** "xai,junos;regression;" → [['xai','junos'], ['regression'], []] padded to n nodes */
export function tagsPerNode (spec: string, n: number): string[][] {
  const entries = spec.split(';').map(e => e.split(',').map(t => t.trim()).filter(t => t !== ''))
  return Array.from({ length: n }, (_, i) => entries[i] ?? [])
}

/** a path as the user would type it from the current folder */
function show (path: string): string {
  const rel = relative(process.cwd(), path)
  return rel !== '' && !rel.startsWith('..') ? rel : path
}

async function up (opts: Options): Promise<number> {
  const { dir } = opts
  const existing = readState(dir)
  if (existing != null) {
    const running = existing.nodes.filter(n => alive(n.pid) && isMeshDaemon(n.pid, n.home)).length
    console.error(running > 0
      ? `a lab is already up in ${show(dir)} (${running} daemon(s) running); run: npm run lab -- down${dirFlag(dir)}`
      : `${show(dir)} holds a stopped lab; clean it first: npm run lab -- down${dirFlag(dir)}`)
    return 1
  }
  if (existsSync(dir) && nodeHomes(dir).length > 0) {
    console.error(`${show(dir)} already holds node homes but no ${statePath(dir)}; pick another --dir or remove it`)
    return 1
  }

  const reaper = new Reaper()
  // Ctrl-C during `up`: take down what was started so far
  reaper.onCleanup(async () => { await down(opts, { quiet: true }) })
  reaper.installSignalHandlers()

  try {
    await mkdir(dir, { recursive: true, mode: 0o700 })
    const swarmKey = join(dir, 'swarm.key')
    const state: LabState = { version: 1, createdAt: new Date().toISOString(), swarmKey, nodes: [] }
    await writeState(dir, state)
    const key = await mesh(['swarm-key', '--out', swarmKey], { reaper })
    if (key.code !== 0) throw new Error(`mesh swarm-key failed: ${key.stderr.trim()}`)

    const tags = tagsPerNode(opts.tags, opts.nodes)
    for (let k = 1; k <= opts.nodes; k++) {
      const name = `node${k}`
      const home = join(dir, name)
      await mkdir(home, { recursive: true, mode: 0o700 })
      // a readable name in `mesh peers` instead of the host name every node shares
      await writeFile(join(home, 'config.json'), JSON.stringify({ version: 1, name }) + '\n', { mode: 0o600 })
      const nodeTags = tags[k - 1] ?? []
      const args = ['start', '--detach', '--home', home, '--listen', '/ip4/127.0.0.1/tcp/0', '--no-mdns', '--swarm-key', swarmKey]
      if (nodeTags.length > 0) args.push('--tags', nodeTags.join(','))
      // two bootstrap peers from node3 on: a star around node1 alone is fragile for gossip
      for (const b of state.nodes.slice(0, 2)) args.push('--bootstrap', b.addr)
      process.stdout.write(`starting ${name}${nodeTags.length > 0 ? ` (tags ${nodeTags.join(',')})` : ''}… `)
      const info = await meshJson<NodeInfo>(args, { reaper, timeoutMs: 90_000 })
      state.nodes.push({ name, home, pid: info.pid, id: info.id, addr: loopbackAddr(info), tags: nodeTags })
      await writeState(dir, state)
      console.log(`pid ${info.pid}`)
    }

    process.stdout.write(`waiting until node1 sees all ${opts.nodes} nodes online… `)
    const first = state.nodes[0] as LabNode
    const deadline = Date.now() + 30_000 + 3_000 * opts.nodes
    let online = 0
    for (;;) {
      const peers = await meshJson<PeerEntry[]>(['peers', '--home', first.home], { reaper }).catch(() => [])
      online = peers.filter(p => p.state === 'online').length
      if (online >= opts.nodes) break
      if (Date.now() > deadline) throw new Error(`node1 sees only ${online} of ${opts.nodes} nodes online after ${Math.round((30_000 + 3_000 * opts.nodes) / 1000)} s; see the daemon.log files under ${show(dir)}`)
      await sleep(500)
    }
    console.log('done\n')
    printLab(state, dir)
    return 0
  } catch (err) {
    // the signal handler is taking the lab down and will exit the process
    if (reaper.interrupted) return new Promise<number>(() => {})
    console.error(`\nlab up failed: ${(err as Error).message}\ntaking the lab down again…`)
    await down(opts, { quiet: true })
    return 1
  }
}

function printLab (state: LabState, dir: string): void {
  const rows = state.nodes.map(n => [n.name, `${n.id.slice(0, 8)}…${n.id.slice(-6)}`, String(n.pid), n.addr.replace(/\/p2p\/.*$/, ''), n.tags.join(',') || '-'])
  const head = ['NODE', 'PEER ID', 'PID', 'ADDRESS', 'TAGS']
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map(r => (r[i] ?? '').length)))
  const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd()
  console.log(line(head))
  for (const r of rows) console.log(line(r))
  const d = show(dir)
  const tagged = state.nodes.find(n => n.tags.length > 0)
  console.log(`
Talk to a node (any node answers for the whole mesh):
  MESH_HOME=${d}/node1 bin/mesh peers
  MESH_HOME=${d}/node2 bin/mesh peers${tagged != null ? `\n  MESH_HOME=${d}/node${state.nodes.length} bin/mesh peers --tag ${tagged.tags[0] ?? ''}` : ''}
  MESH_HOME=${d}/node1 bin/mesh id
  bin/mesh peers --home ${d}/node2 --json

Join another daemon to the lab:
  bin/mesh start --home /tmp/extra --listen /ip4/127.0.0.1/tcp/0 --no-mdns --swarm-key ${d}/swarm.key --bootstrap ${state.nodes[0]?.addr ?? ''}

Logs: ${d}/nodeK/daemon.log · status: npm run lab -- status${dirFlag(dir)} · stop: npm run lab -- down${dirFlag(dir)}`)
}

function dirFlag (dir: string): string {
  return resolve(DEFAULT_DIR) === dir ? '' : ` --dir ${show(dir)}`
}

/**
 * Stops every daemon of the lab: `mesh stop` on each home, then SIGKILL for any pid still there
 * (pids from lab.json and from the process table), then removes DIR.
 */
async function down (opts: Pick<Options, 'dir'>, { quiet }: { quiet: boolean }): Promise<number> {
  const { dir } = opts
  const say = (s: string): void => { if (!quiet) console.log(s) }
  if (!existsSync(dir)) {
    say(`no lab in ${show(dir)}`)
    return 0
  }
  const state = readState(dir)
  const homes = [...new Set([...(state?.nodes.map(n => n.home) ?? []), ...nodeHomes(dir)])]
  const pids = new Map<number, string>()
  for (const n of state?.nodes ?? []) if (alive(n.pid) && isMeshDaemon(n.pid, n.home)) pids.set(n.pid, n.home)
  for (const pid of daemonPidsFor(homes)) if (!pids.has(pid)) pids.set(pid, '')

  await Promise.all(homes.map(async home => {
    if (!existsSync(join(home, 'mesh.sock'))) return
    const r = await mesh(['stop', '--home', home], { timeoutMs: 30_000 })
    say(r.code === 0 ? `${show(home)}: ${r.stdout.trim()}` : `${show(home)}: mesh stop failed (${r.stderr.trim() || `exit ${r.code ?? r.signal ?? '?'}`})`)
  }))

  let killed = 0
  for (const pid of pids.keys()) {
    if (!alive(pid) || !isMeshDaemon(pid)) continue
    // a detached daemon leads its own session and process group
    killGroup(pid, 'SIGKILL')
    try { process.kill(pid, 'SIGKILL') } catch { /* already gone */ }
    await waitGone(pid, 5_000)
    killed++
  }
  if (killed > 0) say(`killed ${killed} daemon(s) that did not stop`)

  const left = [...pids.keys()].filter(p => alive(p) && isMeshDaemon(p))
  if (left.length > 0) {
    console.error(`daemons still running: ${left.join(', ')}; not removing ${show(dir)}`)
    return 1
  }
  if (state == null && nodeHomes(dir).length === 0) {
    console.error(`${show(dir)} is not a lab (no ${statePath(dir)}, no node homes); not removing it`)
    return 1
  }
  await rm(dir, { recursive: true, force: true })
  say(`removed ${show(dir)}`)
  return 0
}

async function status (opts: Options): Promise<number> {
  const state = readState(opts.dir)
  if (state == null) {
    console.error(`no lab in ${show(opts.dir)}; start one with: npm run lab -- up`)
    return 1
  }
  const first = state.nodes[0]
  if (opts.json) {
    if (first == null) return 1
    const r = await mesh(['peers', '--home', first.home, '--json'])
    process.stdout.write(r.stdout)
    process.stderr.write(r.stderr)
    return r.code ?? 1
  }
  for (const n of state.nodes) console.log(`${n.name.padEnd(7)} pid ${String(n.pid).padEnd(8)} ${alive(n.pid) && isMeshDaemon(n.pid, n.home) ? 'running' : 'NOT RUNNING'}`)
  if (first == null) return 1
  console.log(`\nnode1 sees (MESH_HOME=${show(first.home)} bin/mesh peers):`)
  const r = await mesh(['peers', '--home', first.home])
  process.stdout.write(r.stdout)
  process.stderr.write(r.stderr)
  return r.code ?? 1
}

async function main (argv: string[]): Promise<number> {
  let opts: Options
  try {
    opts = parse(argv)
  } catch (err) {
    console.error(`lab: ${(err as Error).message}\n(run with --help for usage)`)
    return 2
  }
  const problem = nodeVersionProblem()
  if (problem != null && opts.command !== 'help') {
    console.error(`lab: ${problem}`)
    return 1
  }
  switch (opts.command) {
    case 'up': return up(opts)
    case 'down': return down(opts, { quiet: false })
    case 'status': return status(opts)
    case 'help': console.log(HELP); return 0
    default:
      console.error(`lab: unknown command '${opts.command}'\n\n${HELP}`)
      return 2
  }
}

process.exitCode = await main(process.argv.slice(2))
