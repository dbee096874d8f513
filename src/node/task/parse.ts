/**
 * Task file → normalised TaskSpec. Every failure is one InvalidTaskError line naming the file, the
 * field and the problem; nothing with a problem reaches the dispatcher.
 *
 *   text ──JSON (line:column)──▶ value ──schema──▶ semantic rules ──▶ TaskSpec (defaults filled)
 */
import { readFile, stat } from 'node:fs/promises'
import { basename, dirname, isAbsolute, posix, resolve } from 'node:path'
import { UsageError } from '../../errors.js'
import { fsProblem } from '../home.js'
import { parseJsonText } from '../json.js'
import { nameProblem, tagProblem } from '../parse.js'
import { STDIN_NAME } from './constants.js'
import { InvalidTaskError } from './errors.js'
import {
  DEFAULT_CORES, DEFAULT_GPUS, DEFAULT_MEMORY_MB, DEFAULT_NUMA, DEFAULT_RETRIES, DEFAULT_TIMEOUT_SEC,
  MAX_TAGS, MAX_TASK_FILE_BYTES, createTaskValidator
} from './schema.js'
import type { TaskValidator } from './schema.js'
import type { NumaRequest, TaskFile, TaskSpec } from './index.js'

export { syntaxErrorOffset } from '../json.js'

/** How stdin is named in messages when the task comes from `mesh push -`. */
export { STDIN_NAME } from './constants.js'

/** The file as written, once the schema holds (every field optional but `command`). */
interface RawTask {
  name?: string
  command: string[] | string
  shell?: boolean
  env?: Record<string, string>
  cwd?: string
  tags?: string[]
  resources?: { cores?: number, memoryMB?: number, numa?: NumaRequest, gpus?: number }
  timeoutSec?: number
  retries?: number
  files?: Array<Omit<TaskFile, 'readOnly'> & { readOnly?: boolean }>
}

export interface ParseTaskOptions {
  /** resolve relative `files[].src` against this folder; left as written when absent */
  baseDir?: string
  /** a validator from createTaskValidator(), to compile the schema once for many files */
  validator?: TaskValidator
}

/**
 * Parses and checks a task file's text. `path` only names the file in messages (and nothing is
 * read). Throws InvalidTaskError (exit 2).
 */
export function parseTaskFile (text: string, path: string, options: ParseTaskOptions = {}): TaskSpec {
  const bytes = Buffer.byteLength(text, 'utf8')
  if (bytes > MAX_TASK_FILE_BYTES) throw new InvalidTaskError(path, `too large (${bytes} bytes; a task file holds at most ${MAX_TASK_FILE_BYTES})`)
  const value = parseJsonText(text.replace(/^\uFEFF/, ''), (problem, cause) => new InvalidTaskError(path, problem, undefined, { cause }))
  const bad = (options.validator ?? createTaskValidator())(value)
  if (bad != null) throw new InvalidTaskError(path, bad.problem, bad.field)
  const raw = value as RawTask
  const problem = semanticProblem(raw)
  if (problem != null) throw new InvalidTaskError(path, problem.problem, problem.field)
  return normalise(raw, options.baseDir)
}

export interface LoadTaskOptions {
  /** read when the path is '-' (default: process.stdin) */
  stdin?: AsyncIterable<Buffer | string>
  /** folder relative `src` paths of a task from stdin are resolved against (default: process.cwd()) */
  cwd?: string
  /** check that every `files[].src` is a readable regular file (default: true) */
  checkFiles?: boolean
}

/**
 * Reads a task file (`-`: stdin), parses it, resolves `files[].src` to absolute paths (relative to
 * the file's folder; for stdin, the current folder) and checks that each is a readable file.
 */
export async function loadTaskFile (path: string, options: LoadTaskOptions = {}): Promise<TaskSpec> {
  const fromStdin = path === '-'
  const name = fromStdin ? STDIN_NAME : path
  const cwd = options.cwd ?? process.cwd()
  let text: string
  try {
    text = fromStdin ? await readStream(options.stdin ?? process.stdin, name) : await readFileBounded(path)
  } catch (err) {
    if (err instanceof InvalidTaskError) throw err
    throw new InvalidTaskError(name, `cannot read: ${fsProblem(err)}`, undefined, { cause: err })
  }
  const spec = parseTaskFile(text, name, { baseDir: fromStdin ? cwd : dirname(resolve(cwd, path)) })
  if (options.checkFiles ?? true) {
    for (const [i, file] of spec.files.entries()) {
      let problem: string | undefined
      try {
        const s = await stat(file.src)
        if (!s.isFile()) problem = `${file.src} is not a regular file`
      } catch (err) {
        problem = `cannot read ${file.src}: ${fsProblem(err)}`
      }
      if (problem != null) throw new InvalidTaskError(name, problem, `files[${i}].src`)
    }
  }
  return spec
}

/** CLI `--tag` values (already split and checked by parseTags) join the file's tags: deduped, sorted. */
export function mergeCliTags (spec: TaskSpec, cliTags: readonly string[]): TaskSpec {
  for (const tag of cliTags) {
    const problem = tagProblem(tag)
    if (problem != null) throw new UsageError(`invalid tag '${tag}': ${problem}`)
  }
  const tags = [...new Set([...spec.tags, ...cliTags])].sort()
  if (tags.length > MAX_TAGS) throw new UsageError(`too many tags (${tags.length}; a task holds at most ${MAX_TAGS})`)
  return { ...spec, tags }
}

async function readFileBounded (path: string): Promise<string> {
  const s = await stat(path)
  if (s.isDirectory()) throw Object.assign(new Error('is a directory'), { code: 'EISDIR' })
  if (s.size > MAX_TASK_FILE_BYTES) throw new InvalidTaskError(path, `too large (${s.size} bytes; a task file holds at most ${MAX_TASK_FILE_BYTES})`)
  return readFile(path, 'utf8')
}

async function readStream (stream: AsyncIterable<Buffer | string>, name: string): Promise<string> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of stream) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk
    size += buf.length
    if (size > MAX_TASK_FILE_BYTES) throw new InvalidTaskError(name, `too large (more than ${MAX_TASK_FILE_BYTES} bytes)`)
    chunks.push(buf)
  }
  return Buffer.concat(chunks).toString('utf8')
}

interface Problem { field?: string, problem: string }

/** Rules the schema cannot say well (or at all). */
function semanticProblem (raw: RawTask): Problem | undefined {
  const shell = raw.shell ?? false
  if (typeof raw.command === 'string') {
    if (!shell) return { field: 'command', problem: 'a string command needs "shell": true (or write it as an argv array: ["prog", "arg"])' }
    if (raw.command.trim() === '') return { field: 'command', problem: 'must not be blank' }
  } else {
    if (shell) return { field: 'shell', problem: 'true needs a string command (an argv array runs without a shell)' }
    if (raw.command[0] === '') return { field: 'command[0]', problem: 'must not be empty (it names the program to run)' }
  }
  if (raw.name != null) {
    const problem = nameProblem(raw.name)
    if (problem != null) return { field: 'name', problem }
  }
  for (const key of Object.keys(raw.env ?? {})) {
    if (/^MESH_/i.test(key)) return { field: `env.${key}`, problem: 'names starting with MESH_ are reserved for the runner' }
  }
  const dests = new Map<string, number>()
  for (const [i, file] of (raw.files ?? []).entries()) {
    const field = `files[${i}].dest`
    const dest = normaliseDest(file.dest)
    if (typeof dest !== 'string') return { field, problem: dest.problem }
    for (const [other, j] of dests) {
      if (other === dest) return { field, problem: `'${dest}' is already the dest of files[${j}]` }
      if (dest.startsWith(`${other}/`)) return { field, problem: `'${dest}' is inside files[${j}].dest '${other}'` }
      if (other.startsWith(`${dest}/`)) return { field, problem: `'${dest}' is a folder holding files[${j}].dest '${other}'` }
    }
    dests.set(dest, i)
  }
  return undefined
}

/** `./a//b` → `a/b`; a problem when it is absolute, names the work dir itself or climbs out of it. */
function normaliseDest (dest: string): string | { problem: string } {
  if (isAbsolute(dest) || dest.startsWith('/')) return { problem: "must be a path relative to the task's work dir (not starting with '/')" }
  if (dest.endsWith('/')) return { problem: "must name a file, not a folder (no trailing '/')" }
  const clean = posix.normalize(dest)
  if (clean === '..' || clean.startsWith('../')) return { problem: `'${dest}' escapes the task's work dir` }
  if (clean === '.' || clean === '') return { problem: 'must name a file inside the work dir' }
  return clean
}

function normalise (raw: RawTask, baseDir: string | undefined): TaskSpec {
  const common = {
    name: raw.name ?? defaultName(raw.command),
    env: { ...raw.env },
    cwd: raw.cwd ?? null,
    tags: [...new Set(raw.tags ?? [])].sort(),
    resources: {
      cores: raw.resources?.cores ?? DEFAULT_CORES,
      memoryMB: raw.resources?.memoryMB ?? DEFAULT_MEMORY_MB,
      numa: raw.resources?.numa ?? DEFAULT_NUMA,
      gpus: raw.resources?.gpus ?? DEFAULT_GPUS
    },
    timeoutSec: raw.timeoutSec ?? DEFAULT_TIMEOUT_SEC,
    retries: raw.retries ?? DEFAULT_RETRIES,
    files: (raw.files ?? []).map(f => ({
      src: baseDir == null ? f.src : resolve(baseDir, f.src),
      dest: normaliseDest(f.dest) as string,
      readOnly: f.readOnly ?? false
    }))
  }
  return typeof raw.command === 'string'
    ? { ...common, shell: true, command: raw.command }
    : { ...common, shell: false, command: [...raw.command] }
}

/** The program's base name: `/usr/bin/ansible-playbook …` → `ansible-playbook`. */
export function defaultName (command: string[] | string): string {
  const program = typeof command === 'string' ? command.trim().split(/\s+/)[0] : command[0]
  const name = basename(program ?? '').replace(/[\u0000-\u001f\u007f]/g, '').trim().slice(0, 128)
  return name === '' ? 'task' : name
}
