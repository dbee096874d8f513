/**
 * Markdown output for benchmark scripts: tables, number formats, and rewriting one marked section
 * of a shared file (BENCHMARKS.md) while keeping everything else in it.
 */
import { existsSync } from 'node:fs'
import { readFile, writeFile } from 'node:fs/promises'

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
