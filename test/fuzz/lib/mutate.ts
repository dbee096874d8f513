/**
 * Generators of hostile input: random bytes, and valid messages broken in the ways a buggy or
 * malicious peer breaks them — bit flips, truncation, dropped and added fields, swapped types,
 * huge strings and arrays, deep nesting, prototype keys, odd numbers and odd unicode.
 */
import { int, pick, randomBytes } from './rand.js'
import type { Rand } from './rand.js'

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json }

const HUGE = 'x'.repeat(70_000)
/** stands for nesting too deep to build as a value (JSON.stringify would overflow): spliced into the text */
const DEEP = '\u0001deep\u0001'
const DEEP_TEXT = '['.repeat(20_000) + ']'.repeat(20_000)

/** Values that break assumptions: types, bounds, encodings. Non-JSON numbers survive only until a stringify. */
export const ODD_VALUES: readonly unknown[] = [
  null, true, false, 0, -0, -1, 1.5, 2 ** 53, -(2 ** 53), 1e308, -1e308, Number.NaN, Number.POSITIVE_INFINITY,
  Number.NEGATIVE_INFINITY, Number.MAX_SAFE_INTEGER + 2, 0.1 + 0.2, '', ' ', 'any', 'none', '../x', '/abs',
  'a\u0000b', 'line\nbreak', 'cr\rhere', '\u2028\u2029', '\ud800', '\udfff\ud800', 'é', '🦀', '\u202e rtl',
  '__proto__', 'constructor', 'toString', HUGE, 'a'.repeat(129), [],
  [null], [''], ['a', 1], {}, { a: 1 }, { __proto__: null }, JSON.parse('{"__proto__":{"polluted":1}}'),
  { constructor: { prototype: { polluted: 1 } } }, deep(64), wide(5000), DEEP
]

const KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'v', 'x', '', ' ', 'é', HUGE.slice(0, 300), 'a\nb']

/** `[[[…]]]` nested `n` deep (a recursive validator or stringify would blow its stack). */
export function deep (n: number): Json {
  let v: Json = 1
  for (let i = 0; i < n; i++) v = [v]
  return v
}

function wide (n: number): Json {
  return Array.from({ length: n }, (_, i) => i)
}

/** One mutation somewhere in the tree: replace, delete or add a value. */
export function mutateValue (value: Json, rand: Rand): Json {
  if (Array.isArray(value)) {
    const r = rand()
    if (value.length === 0 || r < 0.15) return [...value, pick(rand, ODD_VALUES) as Json]
    const i = int(rand, value.length)
    if (r < 0.3) return value.filter((_, j) => j !== i)
    if (r < 0.35) return [...value, ...value, ...value, ...value] // grows past maxItems eventually
    return value.map((v, j) => j === i ? mutateValue(v, rand) : v)
  }
  if (value !== null && typeof value === 'object') {
    const keys = Object.keys(value)
    const r = rand()
    if (keys.length === 0 || r < 0.15) return withKey(value, pick(rand, KEYS), pick(rand, ODD_VALUES) as Json)
    const key = pick(rand, keys)
    if (r < 0.3) {
      const { [key]: _drop, ...rest } = value
      return rest
    }
    return withKey(value, key, mutateValue(value[key] ?? null, rand))
  }
  const r = rand()
  if (typeof value === 'string' && r < 0.2) return value + pick(rand, ['\u0000', '\n', 'é', '🦀', HUGE, ' ', '\ud800'])
  if (typeof value === 'number' && r < 0.2) return pick(rand, [value + 1, value - 1, -value, value * 1e6, value + 0.5])
  return r < 0.8 ? pick(rand, ODD_VALUES) as Json : value
}

/** Adds a key with defineProperty, so `__proto__` becomes an own key as JSON.parse would make it. */
function withKey (obj: { [k: string]: Json }, key: string, v: Json): { [k: string]: Json } {
  const out: { [k: string]: Json } = {}
  for (const [k, val] of Object.entries(obj)) Object.defineProperty(out, k, { value: val, enumerable: true, writable: true, configurable: true })
  Object.defineProperty(out, key, { value: v, enumerable: true, writable: true, configurable: true })
  return out
}

/** 1–3 value mutations. */
export function mutateJson (value: Json, rand: Rand): Json {
  let out = value
  for (let k = 0, n = 1 + int(rand, 3); k < n; k++) out = mutateValue(out, rand)
  return out
}

const SNIPPETS = ['{', '}', '[', ']', ',', ':', '"', '\\', 'null', '0', '-', 'e', '\n', ' ', '\u0000', 'é', '\ud800', '1e999', '\\u0000', '"__proto__":']

/** Breaks a text: inserts, deletes or replaces a few characters, or truncates it. */
export function mutateText (text: string, rand: Rand): string {
  if (rand() < 0.1) return text.slice(0, int(rand, text.length + 1))
  let out = text
  for (let k = 0, n = 1 + int(rand, 3); k < n; k++) {
    const at = int(rand, out.length + 1)
    const snippet = pick(rand, SNIPPETS)
    const r = rand()
    out = r < 0.33
      ? out.slice(0, at) + snippet + out.slice(at)
      : r < 0.66 ? out.slice(0, at) + out.slice(at + 1) : out.slice(0, at) + snippet + out.slice(at + 1)
  }
  return out
}

/** Breaks bytes: bit flips, byte replacements, truncation, insertion, or random garbage. */
export function mutateBytes (bytes: Uint8Array, rand: Rand): Uint8Array {
  const r = rand()
  if (r < 0.1) return randomBytes(rand, int(rand, 2 * bytes.byteLength + 8))
  if (r < 0.25) return bytes.slice(0, int(rand, bytes.byteLength + 1))
  const out = Uint8Array.from(bytes)
  if (r < 0.35 && out.byteLength > 0) {
    const at = int(rand, out.byteLength)
    const extra = randomBytes(rand, 1 + int(rand, 16))
    return Uint8Array.from([...out.subarray(0, at), ...extra, ...out.subarray(at)])
  }
  for (let k = 0, n = 1 + int(rand, 4); k < n && out.byteLength > 0; k++) {
    const at = int(rand, out.byteLength)
    out[at] = rand() < 0.5 ? (out[at] ?? 0) ^ (1 << int(rand, 8)) : int(rand, 256)
  }
  return out
}

/** JSON text of a mutated value; a value JSON cannot hold (NaN) becomes null, as on the wire. */
export function mutatedJsonText (value: Json, rand: Rand): string {
  if (rand() < 0.3) return mutateText(JSON.stringify(value), rand)
  return JSON.stringify(mutateJson(value, rand)).replaceAll(JSON.stringify(DEEP), DEEP_TEXT)
}
