/**
 * Markdown output for benchmark scripts: tables, number formats, and rewriting one marked section
 * of a shared file (BENCHMARKS.md) while keeping everything else in it.
 */
import { existsSync } from 'node:fs'
import { readFile, writeFile } from 'node:fs/promises'
import { defaultConfig } from '../../src/node/config.js'
import type { MachineFacts } from './procfs.js'

export function mdTable (head: string[], rows: string[][]): string {
  const line = (cells: string[]): string => `| ${cells.map(c => c.replace(/\|/g, '\\|')).join(' | ')} |`
  return [line(head), line(head.map(() => '---')), ...rows.map(line)].join('\n')
}

/** seconds with adaptive precision; NaN → '-' */
export function fmtS (ms: number): string {
  if (!Number.isFinite(ms)) return '-'
  const s = ms / 1000
  return s < 10 ? `${s.toFixed(2)} s` : `${s.toFixed(1)} s`
}

export function fmtMs (ms: number): string {
  if (!Number.isFinite(ms)) return '-'
  return ms < 100 ? `${ms.toFixed(1)} ms` : `${Math.round(ms)} ms`
}

export function fmtNum (x: number, digits = 1): string {
  return Number.isFinite(x) ? x.toFixed(digits) : '-'
}

export function markers (name: string): { start: string, end: string } {
  return { start: `<!-- ${name}:start -->`, end: `<!-- ${name}:end -->` }
}

/**
 * Replaces what lies between the section's markers with `body`. A missing file is created from
 * `header` (which should hold the markers); a file without the markers gets them appended.
 */
export async function rewriteSection (file: string, name: string, body: string, header: string): Promise<void> {
  const { start, end } = markers(name)
  let text = existsSync(file) ? await readFile(file, 'utf8') : header
  if (!text.includes(start) || !text.includes(end)) {
    text = `${text.trimEnd()}\n\n${start}\n${end}\n`
  }
  const i = text.indexOf(start) + start.length
  const j = text.indexOf(end, i)
  if (j < 0) throw new Error(`${file}: '${end}' comes before '${start}'`)
  await writeFile(file, `${text.slice(0, i)}\n${body.trim()}\n${text.slice(j)}`)
}

/** The daemon timings every benchmark runs with, from the code's defaults (not copied by hand). */
export function defaultTimings (): string {
  const c = defaultConfig()
  return `heartbeat on change, at least every ${c.heartbeatIntervalMs / 1000} s; offline after ${c.offlineAfterMs / 1000} s`
}

/** The head of a new BENCHMARKS.md, with empty markers for the section about to be written. */
export function benchmarksHeader (facts: MachineFacts, SECTION: string): string {
  return `# Benchmarks

Measured with real \`mesh\` daemons — separate processes, each with its own home, talking over
TCP on 127.0.0.1 with a swarm key — by the scripts in \`scripts/\`. Each script rewrites only its own
section (between its \`<!-- name:start -->\` / \`<!-- name:end -->\` markers); the rest of this file is
kept. Re-run a script to refresh its figures; every section states the machine and date of its run.

Method, in short: daemons run with their default settings (${defaultTimings()}) and
are started one after the other; times are wall-clock from the benchmark process (spawn, exit, stdout),
so they include process start-up; the machine is shared and noisy, so compare medians, and read p95
with the sample count next to it (with fewer than 20 samples the nearest-rank p95 is the maximum).

Machine when this file was created: ${facts.nproc} cores (${facts.cpuModel}), ${fmtNum(facts.memTotalGiB)} GiB RAM,
Node ${facts.node}, Linux ${facts.kernel}, ${facts.date.slice(0, 10)}.

<!-- ${SECTION}:start -->
<!-- ${SECTION}:end -->
`
}

/**
 * Prints a benchmark's section and, unless --no-write, puts it into the report file in place of the
 * old one. `also` ends the "wrote" line (what else the run wrote, e.g. its plots).
 */
export async function publishSection (opts: { write: boolean, out: string }, name: string, section: string, facts: MachineFacts, also = ''): Promise<void> {
  console.log(`\n${section}\n`)
  if (!opts.write) return
  await rewriteSection(opts.out, name, section, benchmarksHeader(facts, name))
  console.log(`wrote the ${name} section of ${opts.out}${also}`)
}
