/**
 * `config.json` in a node's home. Every field is optional in the file (missing ones take their
 * defaults) but every field present is checked, and unknown fields are errors: a typo such as
 * `"bootstap"` must not silently leave a node without its bootstrap peers.
 */
import { readFile } from 'node:fs/promises'
import { hostname } from 'node:os'
import { Ajv } from 'ajv'
import type { ErrorObject } from 'ajv'
import { InvalidFileError, MeshError } from '../errors.js'
import { errnoCode, fsProblem, writeFileAtomic } from './home.js'
import { closest, parseJsonText } from './json.js'
import { shown } from '../protocols/peer-text.js'
import { bootstrapAddrProblem, listenAddrProblem, nameProblem, tagProblem } from './parse.js'
import {
  DEFAULT_PROBE_FAILURES, DEFAULT_PROBE_INTERVAL_MS, DEFAULT_PROBE_TIMEOUT_MS, DEFAULT_SUSPECT_AFTER_MS,
  SUSPECT_AFTER_HEARTBEATS
} from './liveness/constants.js'
import { DEFAULT_HEARTBEAT_INTERVAL_MS } from '../protocols/heartbeat/constants.js'
import { DEFAULT_KEEP_TASK_DIRS_MS, DEFAULT_MAX_CACHE_BYTES } from './runner/janitor.js'

export interface MeshConfig {
  version: 1
  /** display name in `mesh peers`; default: the host name */
  name: string
  tags: string[]
  listen: string[]
  bootstrap: string[]
  mdns: boolean
  /** an unchanged advert is re-sent this often; a changed one goes out within a second */
  heartbeatIntervalMs: number
  /** a peer silent this long is shown offline */
  offlineAfterMs: number
  /** a peer silent this long is forgotten */
  dropAfterMs: number
  /** failure detection (docs/reliability.md): a peer silent this long, or whose connection
   * closed, is suspect and probed; default 2.5 × heartbeatIntervalMs */
  suspectAfterMs: number
  /** a suspect is probed this often */
  probeIntervalMs: number
  /** one probe (ping, dialling if needed) fails after this long */
  probeTimeoutMs: number
  /** consecutive failed probes that make a suspect dead (shown offline, skipped by placement) */
  probeFailures: number
  /** executors in order of preference; the first available one runs tasks */
  executors: Array<'process' | 'systemd' | 'container'>
  /** tasks this node holds waiting for a runner; `mesh push` past it is refused (exit 3) */
  maxQueuedTasks: number
  /** per task log file (stdout, stderr) kept by a runner; past it the oldest half is dropped */
  maxLogBytes: number
  /** a finished task's work dir and logs are removed this long after it ended */
  keepTaskDirsMs: number
  /** the runner's file cache is trimmed to this, least recently used first */
  maxCacheBytes: number
}

export const DEFAULT_LISTEN = '/ip4/0.0.0.0/tcp/7420'

export function defaultConfig (): MeshConfig {
  return {
    version: 1,
    name: hostname(),
    tags: [],
    listen: [DEFAULT_LISTEN],
    bootstrap: [],
    mdns: true,
    heartbeatIntervalMs: DEFAULT_HEARTBEAT_INTERVAL_MS,
    offlineAfterMs: 40_000,
    dropAfterMs: 86_400_000,
    suspectAfterMs: DEFAULT_SUSPECT_AFTER_MS,
    probeIntervalMs: DEFAULT_PROBE_INTERVAL_MS,
    probeTimeoutMs: DEFAULT_PROBE_TIMEOUT_MS,
    probeFailures: DEFAULT_PROBE_FAILURES,
    executors: ['process'],
    maxQueuedTasks: 10_000,
    maxLogBytes: 64 * 1024 * 1024,
    keepTaskDirsMs: DEFAULT_KEEP_TASK_DIRS_MS,
    maxCacheBytes: DEFAULT_MAX_CACHE_BYTES
  }
}

/** Per-format checks; each returns what is wrong, so the message can say more than "bad format". */
const FORMATS: Record<string, { check: (value: string) => string | undefined, expected: string }> = {
  'mesh-name': { check: nameProblem, expected: 'a node name' },
  'mesh-tag': { check: tagProblem, expected: 'a tag' },
  'listen-multiaddr': { check: listenAddrProblem, expected: 'a multiaddr string' },
  'bootstrap-multiaddr': { check: bootstrapAddrProblem, expected: 'a multiaddr string ending with /p2p/<peer id>' }
}

const MS = { type: 'integer', minimum: 1, maximum: 365 * 86_400_000 }

const SCHEMA = {
  type: 'object',
  additionalProperties: false,
  properties: {
    version: { const: 1 },
    name: { type: 'string', format: 'mesh-name' },
    tags: { type: 'array', items: { type: 'string', format: 'mesh-tag' }, uniqueItems: true },
    listen: { type: 'array', items: { type: 'string', format: 'listen-multiaddr' } },
    bootstrap: { type: 'array', items: { type: 'string', format: 'bootstrap-multiaddr' } },
    mdns: { type: 'boolean' },
    // below 100 ms heartbeats would flood gossip
    heartbeatIntervalMs: { ...MS, minimum: 100 },
    offlineAfterMs: MS,
    dropAfterMs: MS,
    suspectAfterMs: MS,
    // faster probing than this costs CPU on a busy peer and proves nothing more
    probeIntervalMs: { ...MS, minimum: 100 },
    probeTimeoutMs: { ...MS, minimum: 100 },
    probeFailures: { type: 'integer', minimum: 1, maximum: 100 },
    executors: { type: 'array', minItems: 1, uniqueItems: true, items: { enum: ['process', 'systemd', 'container'] } },
    maxQueuedTasks: { type: 'integer', minimum: 1, maximum: 1_000_000 },
    // below 64 KiB a log could not even hold the tails a result record carries
    maxLogBytes: { type: 'integer', minimum: 65_536, maximum: 1024 ** 4 },
    keepTaskDirsMs: MS,
    // 0: keep no file past the sweep after its task started
    maxCacheBytes: { type: 'integer', minimum: 0, maximum: 1024 ** 5 }
  }
}

export async function loadConfig (path: string): Promise<MeshConfig> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return defaultConfig()
    throw new MeshError(`cannot read config ${path}: ${fsProblem(err)}`, 1, { cause: err })
  }
  const value = parseJsonText(text.replace(/^\uFEFF/, ''), (problem, cause) => new InvalidFileError(path, problem, 1, { cause }), {
    showChar: quote,
    trustEnginePosition: true
  })
  return validateConfig(value, path)
}

export async function saveConfig (path: string, config: MeshConfig): Promise<void> {
  // never write a file the next load would reject
  const problems = configProblems(config)
  if (problems.length > 0) throw new MeshError(`refusing to write ${path}: ${problems.join('; ')}`)
  const ordered = { ...defaultConfig(), ...config }
  await writeFileAtomic(path, JSON.stringify(ordered, null, 2) + '\n', { mode: 0o600 })
}

/** Checks a parsed config.json and fills in missing fields; throws InvalidFileError naming each bad field. */
export function validateConfig (value: unknown, path: string): MeshConfig {
  const problems = configProblems(value)
  if (problems.length > 0) throw new InvalidFileError(path, firstProblems(problems))
  return withDefaults(value as Partial<MeshConfig>)
}

/** Missing fields take their defaults; suspectAfterMs follows the heartbeat interval when unset. */
function withDefaults (value: Partial<MeshConfig>): MeshConfig {
  const config = { ...defaultConfig(), ...value }
  if (value.suspectAfterMs == null) config.suspectAfterMs = Math.round(SUSPECT_AFTER_HEARTBEATS * config.heartbeatIntervalMs)
  return config
}

/** Every problem with a (partial) config, one phrase each; empty when it is valid. */
export function configProblems (value: unknown): string[] {
  // compiled per call: an Ajv instance and its validate function carry state (`errors`) that must
  // not live at module level; configs are loaded rarely, so the few ms do not matter
  const ajv = new Ajv({ allErrors: true, verbose: true })
  for (const [name, { check }] of Object.entries(FORMATS)) ajv.addFormat(name, (s: string) => check(s) == null)
  const validate = ajv.compile(SCHEMA)
  if (!validate(value)) return (validate.errors ?? []).map(describe)

  const config = withDefaults(value as Partial<MeshConfig>)
  const problems: string[] = []
  if (config.offlineAfterMs <= config.heartbeatIntervalMs) {
    problems.push(`field 'offlineAfterMs': must be greater than heartbeatIntervalMs (${config.heartbeatIntervalMs})`)
  }
  if (config.dropAfterMs < config.offlineAfterMs) {
    problems.push(`field 'dropAfterMs': must be at least offlineAfterMs (${config.offlineAfterMs})`)
  }
  // shorter, and every peer would be suspect between two of its heartbeats
  if (config.suspectAfterMs <= config.heartbeatIntervalMs) {
    problems.push(`field 'suspectAfterMs': must be greater than heartbeatIntervalMs (${config.heartbeatIntervalMs})`)
  }
  return problems
}

/** `/listen/1` → `listen[1]`, the way a user would point at it. */
function fieldPath (instancePath: string): string {
  return instancePath.split('/').slice(1)
    .map(p => p.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce((acc, p) => /^\d+$/.test(p) ? `${acc}[${p}]` : acc === '' ? p : `${acc}.${p}`, '')
}

const A_TYPE: Record<string, string> = {
  string: 'a string', array: 'an array', boolean: 'true or false', integer: 'an integer', number: 'a number', object: 'an object'
}

function describe (err: ErrorObject): string {
  const field = fieldPath(err.instancePath)
  if (err.keyword === 'additionalProperties') {
    const name = String((err.params as { additionalProperty: string }).additionalProperty)
    const full = field === '' ? name : `${field}.${name}`
    const near = closest(name, Object.keys(SCHEMA.properties))
    return `unknown field ${quote(full)}${near != null ? ` (did you mean '${near}'?)` : ''}`
  }
  if (field === '' && err.keyword === 'type') return 'must be a JSON object'
  return `field '${field}': ${problem(err)}`
}

function problem (err: ErrorObject): string {
  switch (err.keyword) {
    case 'type': {
      const type = String((err.params as { type: string }).type)
      return `must be ${A_TYPE[type] ?? type}`
    }
    case 'format': {
      const format = FORMATS[String((err.params as { format: string }).format)]
      if (format == null) return err.message ?? 'invalid'
      const why = typeof err.data === 'string' ? format.check(err.data) : undefined
      return `must be ${format.expected}${why != null ? ` (${quote(String(err.data))}: ${why})` : ''}`
    }
    case 'const': return 'must be 1 (the only config version this mesh reads)'
    case 'uniqueItems': {
      const { i, j } = err.params as { i: number, j: number }
      return `must not repeat items (items ${j} and ${i} are the same)`
    }
    default: return err.message ?? 'invalid'
  }
}

/** A file with many bad fields is refused with the first few: one line, not a page. */
function firstProblems (problems: string[], max = 3): string {
  const more = problems.length - max
  return problems.slice(0, max).join('; ') + (more > 0 ? `; and ${more} more` : '')
}

/** A user's value in a message: quoted, one line, control characters visible, not too long. */
function quote (value: string): string {
  return shown(value, 80)
}
