/**
 * Summaries of V8 .cpuprofile files (as written by `node --cpu-prof`): self time per function and
 * per package, and inclusive time of this project's own functions, optionally only over a time
 * window — so a benchmark can say where a daemon's CPU went during one phase without DevTools.
 *
 * Times: a profile's `startTime` and sample times are microseconds on the monotonic clock, the one
 * `process.hrtime()` reads in any process of the machine, so `monotonicUs()` taken in the benchmark
 * marks a window in a daemon's profile.
 */
import { readFileSync } from 'node:fs'

interface ProfileNode {
  id: number
  callFrame: { functionName: string, url: string, lineNumber: number }
  children?: number[]
}

interface Profile {
  nodes: ProfileNode[]
  samples: number[]
  timeDeltas: number[]
  startTime: number
  endTime: number
}

export interface ProfileSummary {
  /** wall time of the window (or of the whole profile), ms */
  totalMs: number
  /** ms of samples that were not (idle): on CPU, or runnable but waiting for one */
  busyMs: number
  /** [label, self ms], largest first */
  functions: Array<[string, number]>
  /** [package or area, self ms], largest first */
  packages: Array<[string, number]>
  /** [this project's function, inclusive ms], largest first */
  own: Array<[string, number]>
}

/** the monotonic clock in µs, as profiles count it */
export function monotonicUs (): number {
  return Number(process.hrtime.bigint() / 1000n)
}

/** node_modules/<pkg> (scoped too), node:<module>, this project's src/<dir>/<dir>, or a V8 pseudo-frame */
export function areaOf (url: string, functionName: string): string {
  if (url === '') return functionName.startsWith('(') ? functionName : '(native)'
  const nm = url.lastIndexOf('/node_modules/')
  if (nm >= 0) {
    const rest = url.slice(nm + '/node_modules/'.length).split('/')
    return rest[0]?.startsWith('@') === true ? `${rest[0]}/${rest[1] ?? ''}` : rest[0] ?? url
  }
  if (url.startsWith('node:')) return 'node:' + (url.slice(5).split('/')[1] ?? url.slice(5))
  const src = url.indexOf('/dist/src/')
  if (src >= 0) return 'mesh ' + url.slice(src + '/dist/src/'.length).split('/').slice(0, 2).join('/')
  return url
}

function label (n: ProfileNode): string {
  const { functionName, url, lineNumber } = n.callFrame
  const where = url === '' ? '' : ` ${url.replace(/^.*\/node_modules\//, '').replace(/^.*\/dist\//, '')}:${lineNumber + 1}`
  return `${functionName !== '' ? functionName : '(anonymous)'}${where}`
}

/** a profile with its nodes by id and each node's parent */
function loadProfile (file: string): { p: Profile, byId: Map<number, ProfileNode>, parent: Map<number, number> } {
  const p = JSON.parse(readFileSync(file, 'utf8')) as Profile
  const byId = new Map(p.nodes.map(n => [n.id, n]))
  const parent = new Map<number, number>()
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id)
  return { p, byId, parent }
}

/** `window`: [from, to] in monotonic µs; samples outside it are left out */
export function summarizeProfile (file: string, top = 15, window?: [number, number]): ProfileSummary {
  const { p, byId, parent } = loadProfile(file)
  const fn = new Map<string, number>()
  const pkg = new Map<string, number>()
  const own = new Map<string, number>()
  let busyUs = 0
  let t = p.startTime
  for (let i = 0; i < p.samples.length; i++) {
    const dt = p.timeDeltas[i] ?? 0
    t += dt
    if (window != null && (t < window[0] || t > window[1])) continue
    const node = byId.get(p.samples[i] as number)
    if (node == null || node.callFrame.functionName === '(idle)') continue
    busyUs += dt
    const l = label(node)
    fn.set(l, (fn.get(l) ?? 0) + dt)
    const area = areaOf(node.callFrame.url, node.callFrame.functionName)
    pkg.set(area, (pkg.get(area) ?? 0) + dt)
    // inclusive: every distinct project function on the stack gets the sample once
    const seen = new Set<string>()
    for (let cur: number | undefined = node.id; cur != null; cur = parent.get(cur)) {
      const n = byId.get(cur)
      if (n == null || !n.callFrame.url.includes('/dist/src/') || n.callFrame.url.includes('/node_modules/')) continue
      const ol = label(n)
      if (seen.has(ol)) continue
      seen.add(ol)
      own.set(ol, (own.get(ol) ?? 0) + dt)
    }
  }
  const sortMs = (m: Map<string, number>): Array<[string, number]> => [...m].map(([k, us]): [string, number] => [k, us / 1000]).sort((a, b) => b[1] - a[1]).slice(0, top)
  const totalUs = window != null ? Math.min(window[1], p.endTime) - Math.max(window[0], p.startTime) : p.endTime - p.startTime
  return { totalMs: totalUs / 1000, busyMs: busyUs / 1000, functions: sortMs(fn), packages: sortMs(pkg), own: sortMs(own) }
}

export interface CallerOptions {
  /** [from, to] in monotonic µs; samples outside it are left out */
  window?: [number, number]
  /** frames to step over on the way up, matched against `name (area)`: the plumbing in between */
  skip: RegExp
  /** how many of the first frames not skipped make up a caller (default 2) */
  depth?: number
  top?: number
}

/** the caller of a sample whose every frame above the function was skipped */
export const NO_CALLER = '(no caller outside the skipped frames)'

/**
 * Who ran the samples of one function — for `writeBuffer` (a socket write), which protocol or
 * service wrote: for each of its samples, the first `depth` frames up the stack that `skip` does not
 * match, as \`name (area) < name (area)\`. [caller, ms], largest first.
 */
export function callersOf (file: string, functionName: string, opts: CallerOptions): Array<[string, number]> {
  const { p, byId, parent } = loadProfile(file)
  const frame = (n: ProfileNode): string => `${n.callFrame.functionName !== '' ? n.callFrame.functionName : '(anonymous)'} (${areaOf(n.callFrame.url, n.callFrame.functionName)})`
  const out = new Map<string, number>()
  let t = p.startTime
  for (let i = 0; i < p.samples.length; i++) {
    const dt = p.timeDeltas[i] ?? 0
    t += dt
    if (opts.window != null && (t < opts.window[0] || t > opts.window[1])) continue
    const node = byId.get(p.samples[i] as number)
    if (node?.callFrame.functionName !== functionName) continue
    const chain: string[] = []
    for (let cur = parent.get(node.id); cur != null && chain.length < (opts.depth ?? 2); cur = parent.get(cur)) {
      const n = byId.get(cur)
      if (n == null || n.callFrame.functionName === '(root)') break
      if (!opts.skip.test(frame(n))) chain.push(frame(n))
    }
    const key = chain.length > 0 ? chain.join(' < ') : NO_CALLER
    out.set(key, (out.get(key) ?? 0) + dt)
  }
  return [...out].map(([k, us]): [string, number] => [k, us / 1000]).sort((a, b) => b[1] - a[1]).slice(0, opts.top ?? 8)
}

/**
 * What a phase cost beyond a reference window of the same process (e.g. the idle daemon): every
 * entry of `phase` minus the reference's rate over the phase's length; only what grew is kept.
 * Summaries should be taken with a large `top`, or entries missing from one side skew the result.
 */
export function excessOver (phase: ProfileSummary, reference: ProfileSummary, top = 15): ProfileSummary {
  const scale = reference.totalMs > 0 ? phase.totalMs / reference.totalMs : 0
  const diff = (a: Array<[string, number]>, b: Array<[string, number]>): Array<[string, number]> => {
    const ref = new Map(b)
    return a.map(([k, ms]): [string, number] => [k, ms - scale * (ref.get(k) ?? 0)]).filter(([, ms]) => ms > 0).sort((x, y) => y[1] - x[1]).slice(0, top)
  }
  return {
    totalMs: phase.totalMs,
    busyMs: phase.busyMs - scale * reference.busyMs,
    functions: diff(phase.functions, reference.functions),
    packages: diff(phase.packages, reference.packages),
    own: diff(phase.own, reference.own)
  }
}
