/**
 * Helpers shared by the readers of hand-written JSON files (`config.json`, task files): JSON.parse
 * with its failure turned into one line that points at the line and column, and the typo
 * suggestion behind "unknown field 'x' (did you mean 'y'?)".
 */

/** How a caller turns a one-line problem ("not valid JSON at line 3 column 10: …") into its own error. */
export type JsonErrorFactory = (problem: string, cause: unknown) => Error

/** Where the callers' messages differ, kept as it was for each of them. */
export interface JsonErrorStyle {
  /** shows the character the scanner stopped at in "unexpected X" (default: JSON.stringify) */
  showChar?: (ch: string) => string
  /**
   * true: when the engine's message gives a position, report it as is (its own line and column
   * when it gives them), and say "it ends early" only when the scan runs off the end of the text.
   * false (default): report every position with lineColumn(), and any error at or after the last
   * non-blank character as "it ends early".
   */
  trustEnginePosition?: boolean
}

/**
 * JSON.parse, or a thrown onError(problem, cause) where problem is one line starting with
 * "not valid JSON": " (the file is empty)", ": it ends early, at line L column C (truncated?)" or
 * " at line L column C: what". The caller strips any BOM first.
 */
export function parseJsonText (text: string, onError: JsonErrorFactory, style: JsonErrorStyle = {}): unknown {
  try {
    return JSON.parse(text)
  } catch (err) {
    const fail = (problem: string): Error => onError(`not valid JSON${problem}`, err)
    if (text.trim() === '') throw fail(' (the file is empty)')
    const message = err instanceof Error ? err.message : String(err)
    // V8: "Expected ':' after property name in JSON at position 9" (Node >= 22 adds " (line 1 column 10)")
    const m = /^(.*?)(?: in JSON)? at position (\d+)(?: \(line (\d+) column (\d+)\))?/.exec(message)
    const trust = style.trustEnginePosition ?? false
    if (m != null && trust) {
      const [, what = message, pos = '0', line, column] = m
      const where = line != null && column != null ? { line, column } : lineColumn(text, Number(pos))
      throw fail(` at line ${where.line} column ${where.column}: ${lowerFirst(what)}`)
    }
    // V8 gives no position for some errors ("Unexpected token '}', ... is not valid JSON"): scan for it
    const offset = m != null ? Number(m[2]) : syntaxErrorOffset(text)
    if (offset >= (trust ? text.length : text.trimEnd().length)) {
      const end = lineColumn(text, text.trimEnd().length)
      throw fail(`: it ends early, at line ${end.line} column ${end.column} (truncated?)`)
    }
    const where = lineColumn(text, offset)
    const show = style.showChar ?? ((ch: string) => JSON.stringify(ch))
    const what = m?.[1] != null ? lowerFirst(m[1]) : `unexpected ${show(text.charAt(offset))}`
    throw fail(` at line ${where.line} column ${where.column}: ${what}`)
  }
}

/**
 * Offset of the first JSON syntax error; text.length when the text ends early (or is valid JSON).
 * A small recursive descent scanner, for the errors V8 reports without a position.
 */
export function syntaxErrorOffset (text: string): number {
  let i = 0
  const ws = (): void => { while (i < text.length && ' \t\n\r'.includes(text.charAt(i))) i++ }
  const literal = (word: string): boolean => {
    for (const ch of word) { if (text.charAt(i) !== ch) return false; i++ }
    return true
  }
  const str = (): boolean => {
    i++ // opening quote
    while (i < text.length) {
      const ch = text.charAt(i)
      if (ch === '"') { i++; return true }
      if (ch < ' ') return false
      if (ch === '\\') {
        i++
        const esc = text.charAt(i)
        if (esc === 'u') {
          for (let k = 1; k <= 4; k++) if (!/[0-9a-fA-F]/.test(text.charAt(i + k))) { i += k; return false }
          i += 5
        } else if (esc !== '' && '"\\/bfnrt'.includes(esc)) {
          i++
        } else {
          return false
        }
      } else {
        i++
      }
    }
    return false
  }
  const num = (): boolean => {
    const re = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y
    re.lastIndex = i
    if (!re.test(text)) return false
    i = re.lastIndex
    return true
  }
  const seq = (close: string, item: () => boolean): boolean => {
    i++ // opening bracket
    ws()
    if (text.charAt(i) === close) { i++; return true }
    for (;;) {
      if (!item()) return false
      ws()
      const ch = text.charAt(i)
      if (ch === close) { i++; return true }
      if (ch !== ',') return false
      i++
    }
  }
  const pair = (): boolean => {
    ws()
    if (text.charAt(i) !== '"' || !str()) return false
    ws()
    if (text.charAt(i) !== ':') return false
    i++
    return val()
  }
  const val = (): boolean => {
    ws()
    const ch = text.charAt(i)
    switch (ch) {
      case '{': return seq('}', pair)
      case '[': return seq(']', val)
      case '"': return str()
      case 't': return literal('true')
      case 'f': return literal('false')
      case 'n': return literal('null')
      default: return (ch === '-' || (ch >= '0' && ch <= '9')) && num()
    }
  }
  if (!val()) return i
  ws()
  return i
}

/** 1-based line and column of a UTF-16 offset; lines end at '\n'. */
export function lineColumn (text: string, offset: number): { line: number, column: number } {
  const lines = text.slice(0, offset).split('\n')
  return { line: lines.length, column: (lines.at(-1)?.length ?? 0) + 1 }
}

/** The known name within edit distance 2 of `name` (case-insensitive), the nearest first, if any. */
export function closest (name: string, known: readonly string[]): string | undefined {
  let best: string | undefined
  let bestDistance = 3
  for (const k of known) {
    const d = distance(name.toLowerCase(), k.toLowerCase())
    if (d < bestDistance) { best = k; bestDistance = d }
  }
  return best
}

/** Levenshtein distance. */
function distance (a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i)
  for (let i = 1; i <= a.length; i++) {
    const row = [i]
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      row.push(Math.min((prev[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + cost))
    }
    prev = row
  }
  return prev[b.length] ?? 0
}

function lowerFirst (s: string): string {
  return s.charAt(0).toLowerCase() + s.slice(1)
}
