import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { createTaskValidator, parseTaskFile } from '../../../src/node/task/index.js'
import { assertClearError, withinBudget } from '../../fuzz/lib/oracle.js'
import { mutatedJsonText } from '../../fuzz/lib/mutate.js'
import { forEachCase, iterations } from '../../fuzz/lib/rand.js'

/** Deterministic PRNG (mulberry32): a failure reproduces from its seed. */
function prng (seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const VALID = {
  name: 'junos-telemetry-xai',
  command: ['ansible-playbook', 'junos_telemetry.yml', '--limit', 'xai'],
  env: { ANSIBLE_HOST_KEY_CHECKING: 'false' },
  cwd: '/srv/ansible',
  tags: ['xai'],
  resources: { cores: 2, memoryMB: 1024, numa: 'any', gpus: 0 },
  timeoutSec: 3600,
  retries: 1,
  files: [{ src: 'playbooks/junos_telemetry.yml', dest: 'junos_telemetry.yml' }]
}

const ODD_VALUES: unknown[] = [null, true, false, 0, -1, 1.5, 1e308, '', 'any', 'none', '../x', '/abs', 'a\u0000b',
  'x y', [], [''], ['a', 1], {}, { a: 1 }, { src: 'a', dest: '..' }, 'ls -l', 2 ** 53, -0, 'MESH_X', '\u2028']
const SNIPPETS = ['{', '}', '[', ']', ',', ':', '"', '\\', 'null', '0', '-', 'e', '\n', ' ', '\u0000', 'é']

type Json = null | boolean | number | string | Json[] | { [k: string]: Json }

/** Replaces, deletes or adds one value somewhere in the tree. */
function mutateValue (value: Json, rand: () => number): Json {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T
  if (Array.isArray(value)) {
    if (value.length === 0 || rand() < 0.2) return [...value, pick(ODD_VALUES) as Json]
    const i = Math.floor(rand() * value.length)
    if (rand() < 0.2) return value.filter((_, j) => j !== i)
    return value.map((v, j) => j === i ? mutateValue(v, rand) : v)
  }
  if (value !== null && typeof value === 'object') {
    const keys = Object.keys(value)
    const r = rand()
    if (keys.length === 0 || r < 0.15) return { ...value, [pick(['cores', 'numa', 'x', 'shell', 'src', 'dest', '__proto__', 'constructor'])]: pick(ODD_VALUES) as Json }
    const key = pick(keys)
    if (r < 0.3) {
      const { [key]: _drop, ...rest } = value
      return rest
    }
    return { ...value, [key]: mutateValue(value[key] ?? null, rand) }
  }
  return rand() < 0.7 ? pick(ODD_VALUES) as Json : value
}

/** Breaks the text: inserts, deletes or replaces a few characters. */
function mutateText (text: string, rand: () => number): string {
  let out = text
  const n = 1 + Math.floor(rand() * 3)
  for (let k = 0; k < n; k++) {
    const at = Math.floor(rand() * (out.length + 1))
    const snippet = SNIPPETS[Math.floor(rand() * SNIPPETS.length)] ?? ''
    const r = rand()
    out = r < 0.33
      ? out.slice(0, at) + snippet + out.slice(at)
      : r < 0.66 ? out.slice(0, at) + out.slice(at + 1) : out.slice(0, at) + snippet + out.slice(at + 1)
  }
  return out
}

const validator = createTaskValidator()

function check (text: string, seed: number): 'ok' | 'invalid' {
  try {
    const spec = parseTaskFile(text, 'fuzz.json', { validator })
    assert.ok(spec.resources.cores >= 1 && Number.isInteger(spec.resources.cores), `seed ${seed}`)
    assert.ok(spec.files.every(f => !f.dest.startsWith('/') && !f.dest.startsWith('..')), `seed ${seed}`)
    assert.ok(spec.shell ? typeof spec.command === 'string' : Array.isArray(spec.command), `seed ${seed}`)
    return 'ok'
  } catch (err) {
    const e = err as Error & { exitCode?: number }
    assert.equal(e.name, 'InvalidTaskError', `seed ${seed}: ${String(err)}\n${text}`)
    assert.equal(e.exitCode, 2)
    assert.ok(e.message.startsWith('fuzz.json: '), e.message)
    assert.ok(!e.message.includes('\n'), `seed ${seed}: multi-line message ${JSON.stringify(e.message)}`)
    return 'invalid'
  }
}

describe('parseTaskFile fuzz', () => {
  it('random value mutations either parse or throw one-line InvalidTaskErrors', () => {
    const seen = { ok: 0, invalid: 0 }
    for (let seed = 1; seed <= 1000; seed++) {
      const rand = prng(seed)
      let value = VALID as unknown as Json
      for (let k = 0; k < 1 + Math.floor(rand() * 3); k++) value = mutateValue(value, rand)
      seen[check(JSON.stringify(value), seed)]++
    }
    assert.ok(seen.ok > 0 && seen.invalid > 0, JSON.stringify(seen))
  })

  it('random text mutations either parse or throw one-line InvalidTaskErrors', () => {
    const text = JSON.stringify(VALID, null, 2)
    const seen = { ok: 0, invalid: 0 }
    for (let seed = 1; seed <= 1000; seed++) seen[check(mutateText(text, prng(seed)), seed)]++
    assert.ok(seen.invalid > 0, JSON.stringify(seen))
  })

  // the shared generators of test/fuzz: huge strings and arrays, deep nesting, prototype keys,
  // odd numbers and unicode; also checks the message is short and answered in time
  it('hostile documents either parse or throw one clear InvalidTaskError, in time', async () => {
    await forEachCase('task file', iterations(300), async (rand, seed) => {
      const text = mutatedJsonText(VALID, rand)
      const outcome = await withinBudget(() => check(text, seed), 'parseTaskFile')
      if (!outcome.ok) throw outcome.error
      try {
        parseTaskFile(text, 'fuzz.json', { validator })
      } catch (err) {
        assertClearError(err, 'parseTaskFile', ['InvalidTaskError'])
      }
    })
  })
})
