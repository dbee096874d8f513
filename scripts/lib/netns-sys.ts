/**
 * The system side of the multi-host lab (scripts/lib/netns.ts): running `ip`, checking that this
 * machine can host namespaces, IPv4 subnet arithmetic, and reading /proc to find processes.
 * Synchronous on purpose, like the rest of the lab's network code.
 */
import { spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { readFileSync, readdirSync, readlinkSync, writeFileSync } from 'node:fs'
import { alive } from './proc.js'

/** every name a lab creates (namespaces, links) starts with this */
export const NETLAB_PREFIX = 'mnl'

export class NetLabError extends Error {
  override readonly name = 'NetLabError'
}

// ---------------------------------------------------------------------------------------------
// small synchronous helpers

export interface Sh { code: number, stdout: string, stderr: string }

export function sh (cmd: string, args: string[], timeoutMs = 15_000): Sh {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: timeoutMs, stdio: ['ignore', 'pipe', 'pipe'] })
  if (r.error != null) return { code: 127, stdout: '', stderr: r.error.message }
  return { code: r.status ?? 1, stdout: r.stdout, stderr: r.stderr }
}

/** `ip ARGS`; throws with ip's own message unless `allowFail` */
export function ip (args: string[], allowFail = false): Sh {
  const r = sh('ip', args)
  if (r.code !== 0 && !allowFail) throw new NetLabError(`ip ${args.join(' ')}: ${r.stderr.trim() || `exit ${r.code}`}`)
  return r
}

export function sleepSync (ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms)
}

// ---------------------------------------------------------------------------------------------
// can this machine run a lab?

let probed: string | undefined | null = null

/**
 * Why a lab cannot run here (not root, no iproute2, namespaces not permitted), or undefined when
 * it can. Creates and deletes a throwaway namespace once per process.
 */
export function netnsProblem (): string | undefined {
  if (probed !== null) return probed
  probed = probe()
  return probed
}

function probe (): string | undefined {
  if (process.platform !== 'linux') return `network namespaces need Linux (this is ${process.platform})`
  if (process.getuid?.() !== 0) return 'network namespaces need root (run as root, e.g. in the CI container)'
  const list = sh('ip', ['netns', 'list'])
  if (list.code === 127) return 'iproute2 (the ip command) is not installed'
  if (list.code !== 0) return `ip netns is unavailable: ${list.stderr.trim()}`
  const name = `${NETLAB_PREFIX}probe${randomBytes(3).toString('hex')}`
  const add = sh('ip', ['netns', 'add', name])
  if (add.code !== 0) return `cannot create a network namespace: ${add.stderr.trim()}`
  const br = `${NETLAB_PREFIX}p${randomBytes(3).toString('hex')}`
  const bridge = sh('ip', ['link', 'add', br, 'type', 'bridge'])
  sh('ip', ['link', 'del', br])
  const exec = sh('ip', ['netns', 'exec', name, 'true'])
  sh('ip', ['netns', 'del', name])
  if (bridge.code !== 0) return `cannot create a bridge: ${bridge.stderr.trim()}`
  if (exec.code !== 0) return `ip netns exec fails: ${exec.stderr.trim()}`
  return undefined
}

// ---------------------------------------------------------------------------------------------
// addresses

function ipToInt (a: string): number {
  const p = a.split('.').map(Number)
  if (p.length !== 4 || p.some(x => !Number.isInteger(x) || x < 0 || x > 255)) throw new NetLabError(`'${a}' is not an IPv4 address`)
  return ((p[0]! << 24) >>> 0) + (p[1]! << 16) + (p[2]! << 8) + p[3]!
}

function intToIp (n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.')
}

/** "10.213.0.0/24" → [first, last] as integers */
export function cidrRange (cidr: string): [number, number] {
  const [addr, lenText] = cidr.split('/')
  const len = lenText == null ? 32 : Number(lenText)
  if (addr == null || !Number.isInteger(len) || len < 0 || len > 32) throw new NetLabError(`'${cidr}' is not an IPv4 CIDR`)
  const size = 2 ** (32 - len)
  const first = Math.floor(ipToInt(addr) / size) * size
  return [first, first + size - 1]
}

/** the address of host K (1-based) in the subnet: .K */
export function hostIp (subnet: string, k: number): string {
  return intToIp(cidrRange(subnet)[0] + k)
}

/**
 * Why the subnet cannot be used: not a /16…/28 IPv4 network, too small for the hosts, or it
 * overlaps a route of this machine (the lab must never shadow a real network).
 */
export function subnetProblem (subnet: string, hosts: number): string | undefined {
  let first: number, last: number
  try {
    [first, last] = cidrRange(subnet)
  } catch (err) {
    return (err as Error).message
  }
  const len = Number(subnet.split('/')[1])
  if (!(len >= 16 && len <= 28)) return `--subnet: use a /16 to /28 network (got ${subnet})`
  if (last - first - 1 < hosts) return `--subnet: ${subnet} has room for ${last - first - 1} hosts, not ${hosts}`
  const routes = sh('ip', ['-j', '-4', 'route', 'show', 'table', 'all'])
  if (routes.code !== 0) return `cannot read the routing table: ${routes.stderr.trim()}`
  for (const r of JSON.parse(routes.stdout || '[]') as Array<{ dst?: string, dev?: string, table?: string }>) {
    if (r.dst == null || r.dst === 'default') continue
    if (r.table === 'local' && r.dst.startsWith('127.')) continue
    let a: number, b: number
    try { [a, b] = cidrRange(r.dst) } catch { continue }
    if (a <= last && first <= b) return `subnet ${subnet} overlaps the route ${r.dst}${r.dev != null ? ` dev ${r.dev}` : ''} of this machine; pick another with --subnet`
  }
  return undefined
}

/** every link and namespace name of this machine */
export function usedNames (): Set<string> {
  const names = new Set<string>()
  for (const l of sh('ip', ['-o', 'link', 'show']).stdout.split('\n')) {
    const m = /^\d+:\s+([^:@\s]+)/.exec(l)
    if (m?.[1] != null) names.add(m[1])
  }
  for (const l of sh('ip', ['netns', 'list']).stdout.split('\n')) {
    const n = l.split(' ')[0]
    if (n != null && n !== '') names.add(n)
  }
  return names
}

// ---------------------------------------------------------------------------------------------
// the kernel's neighbour (ARP) table

const NEIGH = '/proc/sys/net/ipv4/neigh/default'

/**
 * The ARP table is one for every namespace of the machine, capped at gc_thresh3 entries (1,024 by
 * default). A lab of N hosts on one bridge fills about N × (N − 1) of them: at 50 hosts, past the
 * cap, new neighbours were never resolved and some hosts stayed alone with their SYNs unanswered
 * ("neighbor table overflow!" in dmesg). Raised to fit the lab, never lowered (an upper bound only).
 */
export function fitNeighbourTable (hosts: number): void {
  const need = (hosts + 2) * (hosts + 2)
  // the hard cap first, so the soft limit never exceeds it
  for (const [name, want] of [['gc_thresh3', 2 * need], ['gc_thresh2', need]] as const) {
    const path = `${NEIGH}/${name}`
    try {
      const now = Number(readFileSync(path, 'utf8').trim())
      if (Number.isFinite(now) && now >= want) continue
      writeFileSync(path, `${want}\n`)
    } catch (err) {
      throw new NetLabError(`a lab of ${hosts} hosts needs net.ipv4.neigh.default.${name} ≥ ${want} (its hosts would lose each other otherwise), and it could not be raised: ${(err as Error).message}`)
    }
  }
}

// ---------------------------------------------------------------------------------------------
// processes

/** pids of every process in a namespace ([] when it does not exist) */
export function nsPids (ns: string): number[] {
  const r = sh('ip', ['netns', 'pids', ns])
  if (r.code !== 0) return []
  return r.stdout.split('\n').filter(l => /^\d+$/.test(l.trim())).map(Number).filter(p => p !== process.pid)
}

export function environ (pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').join('\n') + '\n'
  } catch {
    return ''
  }
}

export function cwdOf (pid: number): string {
  try {
    return readlinkSync(`/proc/${pid}/cwd`)
  } catch {
    return ''
  }
}

export function allPids (): number[] {
  return readdirSync('/proc').filter(e => /^\d+$/.test(e)).map(Number).filter(p => p !== process.pid)
}

export function ancestors (): Set<number> {
  const out = new Set<number>()
  let pid = process.pid
  for (let i = 0; i < 64 && pid > 1; i++) {
    out.add(pid)
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
      pid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
    } catch { break }
  }
  return out
}

export function pgidOf (pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2])
  } catch {
    return undefined
  }
}

export function waitAllGone (pids: number[], timeoutMs: number): boolean {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    // a zombie still answers kill(0); its /proc/PID/stat state is Z
    const left = pids.filter(p => !gone(p))
    if (left.length === 0) return true
    if (Date.now() > deadline) return false
    sleepSync(50)
  }
}

/** the process has exited (a zombie waiting for its parent counts as gone) */
export function gone (pid: number): boolean {
  return !alive(pid) || isZombie(pid)
}

function isZombie (pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')
  } catch {
    return true
  }
}
