/**
 * Taking a multi-host lab down (scripts/lib/netns.ts): every process, link, namespace and file it
 * left, found from its state file and its run id, so it also works after a crash half way through
 * `up`, and from a process 'exit' handler (everything here is synchronous).
 */
import { existsSync, readdirSync, rmSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { STATE_FILE, daemonPids, readNetState, staleRuns, unregister } from './netns.js'
import { NETLAB_PREFIX, allPids, ancestors, cwdOf, environ, ip, nsPids, pgidOf, sleepSync, usedNames, waitAllGone } from './netns-sys.js'
import type { NetHost, NetLabState } from './netns.js'

/**
 * Every process that belongs to the lab: whatever runs in its namespaces, its daemons, and the
 * tasks they started (MESH_TASK_ID in the environment and a cwd under DIR, or any process whose cwd
 * is inside a host's home) — tasks lead their own process groups and outlive a killed daemon.
 */
export function labPids (state: Pick<NetLabState, 'runId' | 'dir'> & { hosts: Array<Pick<NetHost, 'ns' | 'home'>> }, extraNs: string[] = []): number[] {
  const mine = ancestors()
  const pids = new Set<number>()
  for (const ns of new Set([...state.hosts.map(h => h.ns), ...extraNs])) if (ns !== '') for (const p of nsPids(ns)) pids.add(p)
  for (const p of daemonPids(state)) pids.add(p)
  const homes = state.hosts.map(h => h.home + '/')
  for (const pid of allPids()) {
    const cwd = cwdOf(pid) + '/'
    if (cwd === '/') continue
    const task = cwd.startsWith(state.dir + '/') && environ(pid).includes('MESH_TASK_ID=')
    if (task || homes.some(h => cwd.startsWith(h))) pids.add(pid)
  }
  for (const p of mine) pids.delete(p)
  return [...pids]
}

export interface TeardownReport {
  dir: string
  runId: string | undefined
  killed: number
  namespaces: string[]
  links: string[]
  /** what could not be removed; empty when the lab is completely gone */
  problems: string[]
}

/**
 * Removes everything of the lab in DIR: SIGKILLs its processes (namespaces, daemons, tasks; whole
 * process groups), deletes the veths, namespaces and bridge (also ones the state file missed, found
 * by the run id), removes DIR (unless keepFiles: a failed benchmark keeps its homes and logs) and the
 * registry entry. Idempotent; safe on a half-built lab and from an 'exit' handler.
 */
export function teardown (dirArg: string, runIdHint?: string, opts: { keepFiles?: boolean } = {}): TeardownReport {
  const dir = resolve(dirArg)
  const state = readNetState(dir)
  const runId = state?.runId ?? runIdHint
  const report: TeardownReport = { dir, runId, killed: 0, namespaces: [], links: [], problems: [] }
  const p = runId != null ? `${NETLAB_PREFIX}${runId}` : undefined

  const liveNs = p == null ? [] : [...usedNames()].filter(n => n.startsWith(`${p}-`))
  const namespaces = [...new Set([...(state?.hosts.map(h => h.ns) ?? []), ...liveNs])]
  const homes = state?.hosts.map(h => ({ ns: h.ns, home: h.home })) ??
    (existsSync(dir) ? readdirSync(dir).filter(n => /^host\d+$/.test(n)).map(n => ({ ns: '', home: join(dir, n) })) : [])
  const scope = { runId: runId ?? '\0none', dir, hosts: homes }

  // 1. processes, until none is left (a dying task may still fork)
  const seen = new Set<number>()
  for (let round = 0; round < 20; round++) {
    const pids = labPids(scope, namespaces)
    if (pids.length === 0) break
    for (const pid of pids) {
      seen.add(pid)
      const pgid = pgidOf(pid)
      // a lab process leading its own group (daemon, task): take the whole group
      if (pgid === pid) { try { process.kill(-pid, 'SIGKILL') } catch { /* gone */ } }
      try { process.kill(pid, 'SIGKILL') } catch { /* gone */ }
    }
    waitAllGone(pids, 2_000)
  }
  report.killed = seen.size
  const left = labPids(scope, namespaces)
  if (left.length > 0) report.problems.push(`processes still alive: ${left.join(', ')}`)

  // 2. network: veths (deleting one end removes both), namespaces, bridge
  if (p != null) {
    // namespaces are <p>-hostK; links (veths, bridge) never hold a '-'
    const links = [...usedNames()].filter(n => n.startsWith(p) && !n.includes('-'))
    const veths = [...new Set([...(state?.hosts.map(h => h.veth) ?? []), ...links.filter(n => n !== `${p}br`)])]
    for (const v of veths) if (ip(['link', 'del', v], true).code === 0) report.links.push(v)
    for (const ns of namespaces) if (ip(['netns', 'del', ns], true).code === 0) report.namespaces.push(ns)
    const bridge = state?.bridge ?? `${p}br`
    if (ip(['link', 'del', bridge], true).code === 0) report.links.push(bridge)
    // namespace destruction is asynchronous in the kernel: wait until the names are gone
    const deadline = Date.now() + 10_000
    let rest: string[] = []
    for (;;) {
      rest = [...usedNames()].filter(n => n.startsWith(p))
      if (rest.length === 0 || Date.now() > deadline) break
      for (const n of rest) {
        if (n.includes('-')) ip(['netns', 'del', n], true)
        else ip(['link', 'del', n], true)
      }
      sleepSync(100)
    }
    if (rest.length > 0) report.problems.push(`left in the kernel: ${rest.join(', ')}`)
  }

  // 3. files
  if (existsSync(dir)) {
    const isLab = state != null || readdirSync(dir).some(n => /^host\d+$/.test(n))
    if (!isLab) report.problems.push(`${dir} is not a lab (no ${STATE_FILE}, no host homes); not removing it`)
    else if (left.length === 0 && opts.keepFiles !== true) {
      try { rmSync(dir, { recursive: true, force: true, maxRetries: 3 }) } catch (err) { report.problems.push(`cannot remove ${dir}: ${(err as Error).message}`) }
    }
  }
  if (runId != null && report.problems.length === 0) unregister(runId)
  return report
}

/** tears down every lab whose owning process died; returns their reports */
export function reapStale (): TeardownReport[] {
  return staleRuns().map(r => teardown(r.dir, r.runId))
}

/** a lab's namespaces, links and directory as they are now (for status and leak checks) */
export function leftovers (runId: string): string[] {
  const p = `${NETLAB_PREFIX}${runId}`
  return [...usedNames()].filter(n => n.startsWith(p))
}
