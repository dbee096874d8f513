/**
 * The task file of `mesh push` (SPEC.md "The task file"): its schema, its parser and the normalised
 * TaskSpec every later stage (placement, push protocol, runner) works from.
 *
 *   task.json ─▶ loadTaskFile() ─▶ TaskSpec ─▶ mergeCliTags(--tag) ─▶ placement / dispatch
 *
 * The JSON Schema ships at `schema/task.schema.json` for editors (`"$schema": "…/task.schema.json"`);
 * the parser validates against that same file, then applies the rules a schema words badly: a string
 * command needs `"shell": true`, `files[].dest` may not climb out of the work dir, `MESH_*` variables
 * are the runner's. Any problem is one InvalidTaskError line (exit 2):
 *
 *   task.json: field 'resources.cores': must be >= 1
 */

export type NumaRequest = 'any' | 'none' | number

export interface TaskResources {
  /** logical CPUs, counted against the chosen NUMA node */
  cores: number
  memoryMB: number
  /** 'any': any node that fits; a number: that node; 'none': no binding, machine-wide totals */
  numa: NumaRequest
  gpus: number
}

export interface TaskFile {
  /** on the dispatcher; absolute once loaded by loadTaskFile */
  src: string
  /** normalised, relative to the task's work dir, never climbing out of it */
  dest: string
  /** the task only reads it: the runner links its cached copy instead of copying it */
  readOnly: boolean
}

interface TaskSpecFields {
  name: string
  env: Record<string, string>
  /** absolute path on the runner; null: the task's work dir */
  cwd: string | null
  /** deduplicated and sorted; a runner must hold all of them */
  tags: string[]
  resources: TaskResources
  timeoutSec: number
  /** further attempts after the first */
  retries: number
  files: TaskFile[]
}

/** A task with every default filled in. A shell task's command is a script for `/bin/sh -c`. */
export type TaskSpec = TaskSpecFields & ({ shell: false, command: string[] } | { shell: true, command: string })

/** The argv a runner executes. */
export function taskArgv (spec: TaskSpec): string[] {
  return spec.shell ? ['/bin/sh', '-c', spec.command] : [...spec.command]
}

export { InvalidTaskError } from './errors.js'
export { parseTaskFile, loadTaskFile, mergeCliTags, defaultName, STDIN_NAME } from './parse.js'
export type { ParseTaskOptions, LoadTaskOptions } from './parse.js'
export type { TaskValidator, SchemaProblem } from './schema.js'
export {
  taskSchemaPath, loadTaskSchema, createTaskValidator, DEFAULT_CORES, DEFAULT_MEMORY_MB, DEFAULT_NUMA, DEFAULT_GPUS,
  DEFAULT_TIMEOUT_SEC, DEFAULT_RETRIES, MAX_TASK_FILE_BYTES, MAX_TAGS
} from './schema.js'
