/**
 * A fixed number of workers draining a queue of `n` jobs: at most `concurrency` in flight, the next
 * one starts as soon as one ends. Results come back in job order; the first failure rejects (the
 * jobs already running are awaited first, so nothing is left dangling).
 */
export async function runPool<T> (n: number, concurrency: number, job: (i: number) => Promise<T>): Promise<T[]> {
  const results = new Array<T>(n)
  let next = 0
  let failure: { err: unknown } | undefined
  const worker = async (): Promise<void> => {
    while (failure == null && next < n) {
      const i = next++
      try {
        results[i] = await job(i)
      } catch (err) {
        failure ??= { err }
      }
    }
  }
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, n)) }, worker))
  if (failure != null) throw failure.err
  return results
}
