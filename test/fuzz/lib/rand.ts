/**
 * Deterministic randomness for the fuzz tests: every run prints its seed, and
 * `MESH_FUZZ_SEED=<seed>` replays it exactly. `MESH_FUZZ_ITERATIONS=<n>` runs longer than the
 * CI default (each test passes its own default, small enough for a few seconds).
 */

export type Rand = () => number

/** mulberry32: tiny, fast, good enough to spread mutations. */
export function prng (seed: number): Rand {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** The run's base seed: MESH_FUZZ_SEED, else a fixed one (CI runs are reproducible by default). */
export function baseSeed (): number {
  const env = process.env.MESH_FUZZ_SEED
  const seed = env != null && env !== '' ? Number(env) : 20_250_101
  if (!Number.isSafeInteger(seed)) throw new Error(`MESH_FUZZ_SEED must be an integer, got '${env ?? ''}'`)
  return seed
}

/** How many cases to run: MESH_FUZZ_ITERATIONS scales every test's default (a multiplier of 1 = the default). */
export function iterations (defaultCount: number): number {
  const env = process.env.MESH_FUZZ_ITERATIONS
  if (env == null || env === '') return defaultCount
  const n = Number(env)
  if (!Number.isSafeInteger(n) || n < 1) throw new Error(`MESH_FUZZ_ITERATIONS must be a positive integer, got '${env}'`)
  return n
}

export function int (rand: Rand, below: number): number {
  return Math.floor(rand() * below)
}

export function pick<T> (rand: Rand, xs: readonly T[]): T {
  return xs[int(rand, xs.length)] as T
}

export function randomBytes (rand: Rand, n: number): Uint8Array {
  const out = new Uint8Array(n)
  for (let i = 0; i < n; i++) out[i] = int(rand, 256)
  return out
}

/**
 * Runs `count` cases, each with its own PRNG seeded from the base seed and the case number, and
 * names the seed of a failing case in the error so it can be replayed alone.
 */
export async function forEachCase (name: string, count: number, fn: (rand: Rand, seed: number) => Promise<void> | void): Promise<void> {
  const base = baseSeed()
  const n = iterations(count)
  for (let i = 0; i < n; i++) {
    const seed = (base + i * 7919) >>> 0
    try {
      await fn(prng(seed), seed)
    } catch (err) {
      // a new error: test runners print the stack, which an edited message would not change
      throw new Error(`${name}: case ${i} failed (MESH_FUZZ_SEED=${base}, case seed ${seed}): ${err instanceof Error ? err.message : String(err)}`, { cause: err })
    }
  }
}
