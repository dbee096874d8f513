/**
 * Runs async jobs one at a time, in call order: read-compare-write sequences on one store must not
 * interleave. A failed job does not stop the ones after it.
 */
export type Serial = <T>(fn: () => Promise<T>) => Promise<T>

export function serial (): Serial {
  let chain: Promise<unknown> = Promise.resolve()
  return async <T>(fn: () => Promise<T>): Promise<T> => {
    const run = chain.then(fn)
    chain = run.catch(() => {})
    return run
  }
}
