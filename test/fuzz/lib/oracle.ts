/**
 * What every decoder owes its caller, whatever the input: a value, or a rejection a person can
 * read — one line, of reasonable length, naming no internal placeholder — and an answer in time.
 */
import assert from 'node:assert/strict'

/** Generous: only a hang fails it, never a slow machine. */
export const HANG_BUDGET_MS = 5_000

/** Longest rejection text accepted: a message quoting a peer's input must cut the quote. */
export const MAX_MESSAGE_CHARS = 512

/** Asserts `text` is one clear line: the reason a peer or user is shown. */
export function assertClearLine (text: unknown, context: string): void {
  assert.equal(typeof text, 'string', `${context}: rejection is not a string: ${String(text)}`)
  const s = text as string
  assert.ok(s.trim() !== '', `${context}: empty rejection`)
  assert.ok(!/[\n\r\u2028\u2029]/.test(s), `${context}: rejection spans lines: ${JSON.stringify(s.slice(0, 600))}`)
  assert.ok(s.length <= MAX_MESSAGE_CHARS, `${context}: rejection is ${s.length} characters: ${JSON.stringify(s.slice(0, 200))}…`)
  assert.ok(!/\bundefined\b|\[object Object\]|\bNaN\b|\s+at .+:\d+:\d+/.test(s), `${context}: rejection leaks internals: ${JSON.stringify(s)}`)
  // a lone surrogate cannot be shown or logged as UTF-8
  assert.ok(s.isWellFormed(), `${context}: rejection holds a lone surrogate: ${JSON.stringify(s)}`)
}

/** Asserts `err` is an Error whose message is one clear line and, when given, has one of `names`. */
export function assertClearError (err: unknown, context: string, names?: readonly string[]): void {
  assert.ok(err instanceof Error, `${context}: threw a non-Error: ${String(err)}`)
  if (names != null) assert.ok(names.includes(err.name), `${context}: threw ${err.name} (${err.message}), expected ${names.join(' or ')}`)
  assertClearLine(err.message, `${context} (${err.name})`)
}

/** Runs `fn`; fails when it takes longer than the hang budget. Returns its outcome either way. */
export async function withinBudget<T> (fn: () => Promise<T> | T, context: string, budgetMs = HANG_BUDGET_MS): Promise<{ ok: true, value: T } | { ok: false, error: unknown }> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const hang = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => { reject(new Error(`${context}: no answer within ${budgetMs} ms (hang)`)) }, budgetMs)
  })
  const started = Date.now()
  try {
    const value = await Promise.race([Promise.resolve().then(fn), hang])
    return { ok: true, value }
  } catch (error) {
    if (error instanceof Error && error.message.endsWith('(hang)')) throw error
    return { ok: false, error }
  } finally {
    clearTimeout(timer)
    // a synchronous decoder cannot be interrupted by the timer: measure it instead
    const took = Date.now() - started
    assert.ok(took <= budgetMs, `${context}: took ${took} ms (hang)`)
  }
}

/** Prints the seed once per file so a CI log says how to replay it. */
export function announce (name: string, seed: number, count: number): void {
  console.log(`# fuzz ${name}: MESH_FUZZ_SEED=${seed}, ${count} cases`)
}
