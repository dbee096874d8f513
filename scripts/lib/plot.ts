/**
 * Dependency-free SVG plots for the benchmark reports: box plots of latency distributions and
 * line plots of scaling curves. Each function returns a standalone SVG document (a string); the
 * caller writes it with `writePlot` and links the returned path from BENCHMARKS.md.
 *
 * Plain SVG 1.1 with inline attributes (no CSS, no scripts, no external fonts), so it renders the
 * same on GitHub, in a browser and through rsvg-convert/ImageMagick.
 */
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { REPO_ROOT } from './proc.js'
import { median, percentile } from './stats.js'

/** Colour-blind-safe palette (Okabe–Ito), one per series in order. */
const PALETTE = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9', '#000000', '#F0E442']
const FONT = 'font-family="Helvetica, Arial, sans-serif"'
/** Above this max/min ratio a value axis becomes logarithmic. */
const LOG_RATIO = 50

export function colour (i: number): string {
  return PALETTE[i % PALETTE.length] as string
}

function esc (s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')
}

function r1 (x: number): string {
  return (Math.round(x * 10) / 10).toString()
}

/** Rough text width in px for the sans-serif fonts above (no font metrics without a renderer). */
function textWidth (s: string, size: number): number {
  return s.length * size * 0.62
}

/** A compact label for an axis tick: 0.5, 12, 1.5k, 2M. */
export function tickLabel (v: number): string {
  const a = Math.abs(v)
  if (a === 0) return '0'
  if (a >= 1e6) return `${trim(v / 1e6)}M`
  if (a >= 1e4) return `${trim(v / 1e3)}k`
  if (a >= 100) return Math.round(v).toString()
  if (a >= 1) return trim(v)
  return Number(v.toPrecision(2)).toString()
}

function trim (x: number): string {
  return Number(x.toFixed(2)).toString()
}

interface Axis {
  /** value → offset in px from the axis start */
  map: (v: number) => number
  ticks: number[]
  log: boolean
}

/** "Nice" linear ticks (1, 2, 5 × 10^k steps) covering [lo, hi]. */
function linearAxis (lo: number, hi: number, length: number, integer = false): Axis {
  if (!(hi > lo)) { hi = lo === 0 ? 1 : lo * 1.5; lo = lo === hi ? 0 : lo }
  const rough = (hi - lo) / 6
  const mag = 10 ** Math.floor(Math.log10(rough))
  let step = ([1, 2, 2.5, 5, 10].map(m => m * mag).find(s => s >= rough)) ?? 10 * mag
  if (integer) step = Math.max(1, Math.round(step))
  const start = Math.floor(lo / step) * step
  const end = Math.ceil(hi / step) * step
  const ticks: number[] = []
  for (let v = start; v <= end + step / 1e6; v += step) ticks.push(Number(v.toPrecision(12)))
  return { map: v => ((v - start) / (end - start)) * length, ticks, log: false }
}

/** Decade axis with 1-2-5 ticks (only decades when it spans many of them). */
function logAxis (lo: number, hi: number, length: number): Axis {
  const a = Math.floor(Math.log10(lo))
  const b = Math.ceil(Math.log10(hi))
  const ticks: number[] = []
  const mults = b - a > 4 ? [1] : [1, 2, 5]
  for (let k = a; k <= b; k++) {
    for (const m of mults) {
      const v = m * 10 ** k
      if (v >= 10 ** a && v <= 10 ** b) ticks.push(Number(v.toPrecision(6)))
    }
  }
  return { map: v => ((Math.log10(Math.max(v, 10 ** a)) - a) / (b - a)) * length, ticks, log: true }
}

function valueAxis (values: number[], length: number, zeroBased: boolean): Axis {
  const finite = values.filter(v => Number.isFinite(v))
  const positive = finite.filter(v => v > 0)
  const lo = Math.min(...finite)
  const hi = Math.max(...finite)
  if (positive.length === finite.length && positive.length > 0 && hi / lo > LOG_RATIO) return logAxis(lo, hi, length)
  return linearAxis(zeroBased ? Math.min(0, lo) : lo, hi, length)
}

function svgOpen (w: number, h: number, title: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" ${FONT} font-size="12">
<title>${esc(title)}</title>
<rect x="0" y="0" width="${w}" height="${h}" fill="#ffffff"/>
<text x="${w / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${esc(title)}</text>
`
}

function emptyNote (w: number, y: number): string {
  return `<text x="${w / 2}" y="${y}" text-anchor="middle" fill="#666666">no data</text>\n`
}

/**
 * Horizontal box plots, one row per series: box p25–p75, median line, whiskers p5–p95, points
 * beyond the whiskers drawn one by one, and the median and sample count written at the right.
 * The value axis is logarithmic when max/min > 50.
 */
export function boxPlotSvg (title: string, unit: string, series: Array<{ label: string, values: number[] }>): string {
  const rowH = 46
  const labelW = Math.max(80, ...series.map(s => textWidth(s.label, 12))) + 16
  const noteW = 120
  const plotW = 560
  const left = labelW
  const top = 40
  const w = Math.round(left + plotW + noteW)
  const plotH = Math.max(1, series.length) * rowH
  const h = top + plotH + 52
  const all = series.flatMap(s => s.values).filter(v => Number.isFinite(v))
  let out = svgOpen(w, h, title)
  if (all.length === 0) return `${out}${emptyNote(w, top + plotH / 2)}</svg>\n`
  const axis = valueAxis(all, plotW, !(Math.max(...all) / Math.min(...all) > LOG_RATIO))
  const x = (v: number): number => left + axis.map(v)

  // grid and ticks
  for (const t of axis.ticks) {
    const xt = r1(x(t))
    out += `<line x1="${xt}" y1="${top}" x2="${xt}" y2="${top + plotH}" stroke="#e5e5e5" stroke-width="1"/>\n`
    out += `<line x1="${xt}" y1="${top + plotH}" x2="${xt}" y2="${top + plotH + 5}" stroke="#333333"/>\n`
    out += `<text x="${xt}" y="${top + plotH + 18}" text-anchor="middle">${esc(tickLabel(t))}</text>\n`
  }
  out += `<line x1="${left}" y1="${top + plotH}" x2="${left + plotW}" y2="${top + plotH}" stroke="#333333"/>\n`
  out += `<line x1="${left}" y1="${top}" x2="${left}" y2="${top + plotH}" stroke="#333333"/>\n`
  out += `<text x="${left + plotW / 2}" y="${h - 10}" text-anchor="middle">${esc(unit)}${axis.log ? ' (log scale)' : ''} — box p25–p75, line median, whiskers p5–p95, dots beyond</text>\n`

  series.forEach((s, i) => {
    const cy = top + i * rowH + rowH / 2
    const c = colour(i)
    out += `<text x="${left - 8}" y="${cy + 4}" text-anchor="end">${esc(s.label)}</text>\n`
    const vs = s.values.filter(v => Number.isFinite(v))
    if (vs.length === 0) {
      out += `<text x="${left + 6}" y="${cy + 4}" fill="#666666">no samples</text>\n`
      return
    }
    const [p5, p25, p50, p75, p95] = [percentile(vs, 5), percentile(vs, 25), median(vs), percentile(vs, 75), percentile(vs, 95)] as [number, number, number, number, number]
    const bh = 22
    out += `<line x1="${r1(x(p5))}" y1="${cy}" x2="${r1(x(p25))}" y2="${cy}" stroke="${c}" stroke-width="1.5"/>\n`
    out += `<line x1="${r1(x(p75))}" y1="${cy}" x2="${r1(x(p95))}" y2="${cy}" stroke="${c}" stroke-width="1.5"/>\n`
    out += `<line x1="${r1(x(p5))}" y1="${cy - 7}" x2="${r1(x(p5))}" y2="${cy + 7}" stroke="${c}" stroke-width="1.5"/>\n`
    out += `<line x1="${r1(x(p95))}" y1="${cy - 7}" x2="${r1(x(p95))}" y2="${cy + 7}" stroke="${c}" stroke-width="1.5"/>\n`
    out += `<rect x="${r1(x(p25))}" y="${cy - bh / 2}" width="${r1(Math.max(1, x(p75) - x(p25)))}" height="${bh}" fill="${c}" fill-opacity="0.25" stroke="${c}" stroke-width="1.5"/>\n`
    out += `<line x1="${r1(x(p50))}" y1="${cy - bh / 2}" x2="${r1(x(p50))}" y2="${cy + bh / 2}" stroke="${c}" stroke-width="3"/>\n`
    for (const v of vs) {
      if (v < p5 || v > p95) out += `<circle cx="${r1(x(v))}" cy="${cy}" r="2.5" fill="none" stroke="${c}" stroke-width="1.2"/>\n`
    }
    out += `<text x="${left + plotW + 10}" y="${cy + 4}" fill="#333333">${esc(`${Number(p50.toPrecision(3))} ${unit}`)} (n=${vs.length})</text>\n`
  })
  return `${out}</svg>\n`
}

/**
 * Line plot of one or more series of (x, y) points with markers and a legend on the right. The y
 * axis starts at 0 unless max/min > 50, when it becomes logarithmic.
 */
export function linePlotSvg (title: string, xLabel: string, yLabel: string, series: Array<{ label: string, points: Array<[number, number]> }>): string {
  const legendW = Math.max(100, ...series.map(s => textWidth(s.label, 12))) + 40
  const left = 70
  const top = 40
  const plotW = 520
  const plotH = 300
  const w = Math.round(left + plotW + 20 + legendW)
  const h = top + plotH + 56
  let out = svgOpen(w, h, title)
  const pts = series.flatMap(s => s.points).filter(([a, b]) => Number.isFinite(a) && Number.isFinite(b))
  if (pts.length === 0) return `${out}${emptyNote(w, top + plotH / 2)}</svg>\n`
  const xs = pts.map(p => p[0])
  const ys = pts.map(p => p[1])
  const xAxis = linearAxis(Math.min(...xs) === Math.max(...xs) ? 0 : Math.min(...xs), Math.max(...xs), plotW, xs.every(v => Number.isInteger(v)))
  const yAxis = valueAxis(ys, plotH, true)
  const X = (v: number): number => left + xAxis.map(v)
  const Y = (v: number): number => top + plotH - yAxis.map(v)

  for (const t of yAxis.ticks) {
    const yt = r1(Y(t))
    out += `<line x1="${left}" y1="${yt}" x2="${left + plotW}" y2="${yt}" stroke="#e5e5e5"/>\n`
    out += `<text x="${left - 8}" y="${Number(yt) + 4}" text-anchor="end">${esc(tickLabel(t))}</text>\n`
  }
  for (const t of xAxis.ticks) {
    const xt = r1(X(t))
    out += `<line x1="${xt}" y1="${top + plotH}" x2="${xt}" y2="${top + plotH + 5}" stroke="#333333"/>\n`
    out += `<text x="${xt}" y="${top + plotH + 18}" text-anchor="middle">${esc(tickLabel(t))}</text>\n`
  }
  out += `<line x1="${left}" y1="${top + plotH}" x2="${left + plotW}" y2="${top + plotH}" stroke="#333333"/>\n`
  out += `<line x1="${left}" y1="${top}" x2="${left}" y2="${top + plotH}" stroke="#333333"/>\n`
  out += `<text x="${left + plotW / 2}" y="${h - 12}" text-anchor="middle">${esc(xLabel)}</text>\n`
  const ly = top + plotH / 2
  out += `<text x="16" y="${ly}" text-anchor="middle" transform="rotate(-90 16 ${ly})">${esc(yLabel)}${yAxis.log ? ' (log scale)' : ''}</text>\n`

  series.forEach((s, i) => {
    const c = colour(i)
    const p = s.points.filter(([a, b]) => Number.isFinite(a) && Number.isFinite(b)).sort((a, b) => a[0] - b[0])
    if (p.length > 1) out += `<polyline points="${p.map(([a, b]) => `${r1(X(a))},${r1(Y(b))}`).join(' ')}" fill="none" stroke="${c}" stroke-width="2"/>\n`
    for (const [a, b] of p) out += `<circle cx="${r1(X(a))}" cy="${r1(Y(b))}" r="4" fill="${c}"/>\n`
    const lx = left + plotW + 20
    const lyi = top + 10 + i * 20
    out += `<line x1="${lx}" y1="${lyi}" x2="${lx + 22}" y2="${lyi}" stroke="${c}" stroke-width="2"/>\n`
    out += `<circle cx="${lx + 11}" cy="${lyi}" r="4" fill="${c}"/>\n`
    out += `<text x="${lx + 30}" y="${lyi + 4}">${esc(s.label)}</text>\n`
  })
  return `${out}</svg>\n`
}

/** Writes docs/bench/<name>.svg in the repository; returns 'docs/bench/<name>.svg' for a markdown link. */
export async function writePlot (name: string, svg: string): Promise<string> {
  const rel = `docs/bench/${name.replace(/[^A-Za-z0-9._-]/g, '-')}.svg`
  await mkdir(join(REPO_ROOT, 'docs', 'bench'), { recursive: true })
  await writeFile(join(REPO_ROOT, rel), svg)
  return rel
}
