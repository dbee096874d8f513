/**
 * Small summary statistics for benchmark samples. Every function takes the samples as they came and
 * sorts a copy; an empty sample gives NaN, which the formatters print as '-'.
 */

function sorted (xs: readonly number[]): number[] {
  return [...xs].sort((a, b) => a - b)
}

export function min (xs: readonly number[]): number {
  return xs.length === 0 ? NaN : Math.min(...xs)
}

export function max (xs: readonly number[]): number {
  return xs.length === 0 ? NaN : Math.max(...xs)
}

export function mean (xs: readonly number[]): number {
  return xs.length === 0 ? NaN : xs.reduce((a, b) => a + b, 0) / xs.length
}

export function median (xs: readonly number[]): number {
  if (xs.length === 0) return NaN
  const s = sorted(xs)
  const mid = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? s[mid] as number : ((s[mid - 1] as number) + (s[mid] as number)) / 2
}

/**
 * Nearest-rank percentile (p in 0..100): always one of the samples. With fewer than 20 samples
 * p95 is the maximum, which is what a small benchmark can honestly say.
 */
export function percentile (xs: readonly number[], p: number): number {
  if (xs.length === 0) return NaN
  const s = sorted(xs)
  const rank = Math.max(1, Math.ceil((p / 100) * s.length))
  return s[Math.min(rank, s.length) - 1] as number
}

export function p95 (xs: readonly number[]): number {
  return percentile(xs, 95)
}

/** max - min */
export function spread (xs: readonly number[]): number {
  return max(xs) - min(xs)
}

/** (max - min) / median, e.g. 0.12 for 12 %: how much the samples disagree */
export function relativeSpread (xs: readonly number[]): number {
  const m = median(xs)
  return m === 0 ? NaN : spread(xs) / m
}

export interface Summary {
  n: number
  median: number
  p95: number
  min: number
  max: number
  spread: number
}

export function summarize (xs: readonly number[]): Summary {
  return { n: xs.length, median: median(xs), p95: p95(xs), min: min(xs), max: max(xs), spread: spread(xs) }
}
