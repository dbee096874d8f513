/**
 * The task file's JSON Schema (`schema/task.schema.json`, shipped for editors) and the one-line
 * description of its first violation. Defaults live here too and must equal the schema's `default`s
 * (a test holds them together).
 */
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Ajv } from 'ajv'
import type { ErrorObject } from 'ajv'
import { closest } from '../json.js'

export const DEFAULT_CORES = 1
export const DEFAULT_MEMORY_MB = 0
export const DEFAULT_NUMA = 'any'
export const DEFAULT_GPUS = 0
export const DEFAULT_TIMEOUT_SEC = 3600
export const DEFAULT_RETRIES = 0
/** a task file (or stdin) larger than this is refused before parsing */
export const MAX_TASK_FILE_BYTES = 1024 * 1024
/** tags from the file and from `--tag` together; a runner advertises at most as many */
export const MAX_TAGS = 64

const SCHEMA_FILE = join('schema', 'task.schema.json')

/**
 * Where the schema lives: the repository root, found by walking up from this module, so the same
 * code works compiled (`dist/src/node/task/`) and from sources (`src/node/task/`).
 */
export function taskSchemaPath (): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  for (let i = 0; i < 8; i++) {
    const candidate = join(dir, SCHEMA_FILE)
    if (existsSync(candidate)) return candidate
    const parent = dirname(dir)
    if (parent === dir) break
    dir = parent
  }
  throw new Error(`${SCHEMA_FILE} not found above ${fileURLToPath(import.meta.url)}`)
}

export function loadTaskSchema (): Record<string, unknown> {
  return JSON.parse(readFileSync(taskSchemaPath(), 'utf8')) as Record<string, unknown>
}

/** What is wrong, and where: `field` is a dotted path (`files[0].dest`), undefined for the whole file. */
export interface SchemaProblem {
  field?: string
  problem: string
}

/** Checks a parsed task file against the schema: the problem to report, or undefined when it holds. */
export type TaskValidator = (value: unknown) => SchemaProblem | undefined

/**
 * Compiles the schema (a few ms: create one per parser, not per file, when parsing many). Cross-field
 * rules (`allOf`) are left to the semantic checks, which word them better; they only fail
 * validation here when nothing else is wrong.
 */
export function createTaskValidator (): TaskValidator {
  const ajv = new Ajv({ allErrors: true, verbose: true, allowUnionTypes: true, strict: true })
  const validate = ajv.compile(loadTaskSchema())
  return (value) => {
    if (validate(value)) return undefined
    const errors = (validate.errors ?? []).filter(e => !e.schemaPath.startsWith('#/allOf'))
    // an unknown field is most likely a typo, and the cause of the other errors ("required")
    const first = errors.find(e => e.keyword === 'additionalProperties') ?? errors[0]
    return first == null ? undefined : describe(first)
  }
}

/** `/files/0/dest` → `files[0].dest`. */
export function fieldPath (instancePath: string): string {
  return instancePath.split('/').slice(1)
    .map(p => p.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce((acc, p) => /^\d+$/.test(p) ? `${acc}[${p}]` : acc === '' ? p : `${acc}.${quoteKey(p)}`, '')
}

/** keys that would make the dotted path ambiguous are shown quoted: env."A.B" */
function quoteKey (key: string): string {
  return /^[A-Za-z0-9_$-]+$/.test(key) ? key : JSON.stringify(key)
}

function join2 (field: string, key: string): string {
  return field === '' ? quoteKey(key) : `${field}.${quoteKey(key)}`
}

const A_TYPE: Record<string, string> = {
  string: 'a string', array: 'an array', boolean: 'true or false', integer: 'an integer', number: 'a number', object: 'an object', null: 'null'
}

/** Fields whose value can take several shapes: one sentence says them all. */
const SHAPES: Record<string, string> = {
  command: 'must be an argv array of strings, or a string with "shell": true',
  'resources.numa': 'must be "any", "none" or a NUMA node number (0-1023)'
}

/** What each `pattern` in the schema means, keyed by field (array indexes dropped). */
const PATTERNS: Record<string, string> = {
  name: 'must not contain control characters',
  cwd: "must be an absolute path (starting with '/')",
  tags: "must be a tag: 1-63 letters, digits, '_', '.', ':' or '-', starting with a letter or digit",
  'files.dest': "must be a path relative to the task's work dir (not starting with '/')"
}

const KNOWN_FIELDS: Record<string, string[]> = {
  '': ['$schema', 'name', 'command', 'shell', 'env', 'cwd', 'tags', 'resources', 'timeoutSec', 'retries', 'files'],
  resources: ['cores', 'memoryMB', 'numa', 'gpus'],
  files: ['src', 'dest']
}

function describe (err: ErrorObject): SchemaProblem {
  const field = fieldPath(err.instancePath)
  const generic = field.replace(/\[\d+\]/g, '')
  const params = err.params as Record<string, unknown>

  if (err.keyword === 'additionalProperties') {
    const name = String(params.additionalProperty)
    const near = closest(name, KNOWN_FIELDS[generic] ?? [])
    // `"cores": 2` at the top level belongs in resources
    const moved = generic === '' && near !== name ? KNOWN_FIELDS.resources?.find(k => k.toLowerCase() === name.toLowerCase()) : undefined
    const hint = moved != null ? `resources.${moved}` : near != null ? join2(field, near) : undefined
    return { field: join2(field, name), problem: `unknown field${hint != null ? ` (did you mean '${hint}'?)` : ''}` }
  }
  if (err.keyword === 'required') {
    return { field: join2(field, String(params.missingProperty)), problem: 'is required' }
  }
  if (field === '' && err.keyword === 'type') return { problem: 'must be a JSON object (the task)' }
  // a bad key (only env has rules for its keys): ajv names it on the inner error, or in params
  const badKey = err.propertyName ?? (err.keyword === 'propertyNames' ? String(params.propertyName) : undefined)
  if (badKey != null) {
    return { field: join2(field, badKey), problem: 'is not a valid variable name (letters, digits and _, not starting with a digit, at most 128)' }
  }
  const shape = SHAPES[field]
  if (shape != null && (err.keyword === 'type' || err.keyword === 'anyOf' || err.keyword === 'enum')) return { field, problem: shape }
  return { field, problem: problem(err, generic) }
}

function problem (err: ErrorObject, generic: string): string {
  const params = err.params as Record<string, unknown>
  const limit = Number(params.limit)
  switch (err.keyword) {
    case 'type': {
      const types = String(params.type).split(',').map(t => A_TYPE[t] ?? t)
      return `must be ${types.join(' or ')}`
    }
    case 'pattern':
      if (typeof err.data === 'string' && err.data.includes('\u0000')) return 'must not contain a NUL character'
      return PATTERNS[generic] ?? `must match ${String(params.pattern)}`
    case 'minLength': return limit === 1 ? 'must not be empty' : `must be at least ${limit} characters`
    case 'maxLength': return `must be at most ${limit} characters`
    case 'minItems': return limit === 1 ? 'must not be empty' : `must have at least ${limit} items`
    case 'maxItems': return `must have at most ${limit} items`
    case 'maxProperties': return `must have at most ${limit} entries`
    case 'minimum': return `must be >= ${limit}`
    case 'maximum': return `must be <= ${limit}`
    case 'enum': return `must be one of ${(params.allowedValues as unknown[]).map(v => JSON.stringify(v)).join(', ')}`
    default: return err.message ?? 'is invalid'
  }
}
