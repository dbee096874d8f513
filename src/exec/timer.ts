import { MAX_TIMER_MS } from './constants.js'

/**
 * Calls `fn` after `ms`; `ms` <= 0 or not finite means never. Delays above what setTimeout can
 * hold (~24.8 days) are chained instead of firing at once. Returns the cancel function.
 */
export function startTimer (ms: number, fn: () => void): () => void {
  if (!Number.isFinite(ms) || ms <= 0) return () => {}
  let timer: NodeJS.Timeout
  const arm = (left: number): void => {
    const step = Math.min(left, MAX_TIMER_MS)
    timer = setTimeout(() => {
      if (left > step) arm(left - step)
      else fn()
    }, step)
  }
  arm(ms)
  return () => { clearTimeout(timer) }
}
