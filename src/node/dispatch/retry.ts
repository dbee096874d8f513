/**
 * When a placed task's runner dies (or reports it `lost`), the dispatcher runs it again elsewhere:
 * at-least-once. These pure rules say whether and when.
 */

export interface RetryPolicy {
  /** first wait before attempt 2; doubles per attempt */
  baseMs: number
  capMs: number
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { baseMs: 1_000, capMs: 30_000 }

/** Attempt `attempt` was lost: may another run? `retries` counts runs after the first. */
export function mayRetry (attempt: number, retries: number): boolean {
  return attempt <= retries
}

/** Wait before starting attempt `attempt + 1`: base · 2^(attempt-1), capped, with ±20 % jitter so a dead runner's tasks do not stampede the survivors together. */
export function backoffMs (attempt: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const raw = Math.min(policy.capMs, policy.baseMs * 2 ** Math.max(0, attempt - 1))
  return Math.round(raw * (0.8 + 0.4 * random()))
}

/** Between placement rounds of a task nobody can take yet: 500 ms growing to 5 s, so thousands of queued tasks do not spin. */
export function placeRetryMs (round: number): number {
  return Math.min(5_000, 500 * 2 ** Math.min(round, 4))
}
