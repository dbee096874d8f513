/**
 * Errors a user can act on. The CLI prints `err.message` as one line (no stack) and exits with
 * `err.exitCode`; anything that is not a MeshError is a bug and is printed with its stack.
 *
 * Subclasses set a stable `name` so callers test `err.name`, never the message text.
 */
export class MeshError extends Error {
  /** CLI exit code; see SPEC.md ("Exit codes of the CLI itself"). */
  readonly exitCode: number

  constructor (message: string, exitCode = 1, options?: ErrorOptions) {
    super(message, options)
    this.name = 'MeshError'
    this.exitCode = exitCode
  }
}

/** Bad flags or arguments: exit 2. */
export class UsageError extends MeshError {
  constructor (message: string, options?: ErrorOptions) {
    super(message, 2, options)
    this.name = 'UsageError'
  }
}

/** A file mesh reads (config, key, swarm key, task) is malformed or unreadable: exit 1 unless told. */
export class InvalidFileError extends MeshError {
  readonly path: string

  constructor (path: string, problem: string, exitCode = 1, options?: ErrorOptions) {
    super(`${path}: ${problem}`, exitCode, options)
    this.name = 'InvalidFileError'
    this.path = path
  }
}

/** The CLI found no daemon behind the control socket: exit 4. */
export class NoDaemonError extends MeshError {
  constructor (home: string, options?: ErrorOptions) {
    super(`no mesh daemon is running for ${home} (start one with: mesh start --home ${home})`, 4, options)
    this.name = 'NoDaemonError'
  }
}

export function isMeshError (err: unknown): err is MeshError {
  return err instanceof MeshError
}

/** The message of anything thrown, for one-line logs and reasons. */
export function errorMessage (err: unknown): string {
  if (err instanceof Error) return err.message
  // libp2p's stream writes reject with the stream's 'close' event when it closes under them
  if (err instanceof Event) return `the stream ended (${err.type}) while in use`
  return String(err)
}

/** Anything thrown, as an Error (for `stream.abort`, which takes one); never throws itself. */
export function toError (err: unknown): Error {
  if (err instanceof Error) return err
  let message: string
  try {
    message = errorMessage(err)
  } catch {
    // String() of an object without a prototype throws; this runs in timers where a throw is fatal
    message = 'a non-error value was thrown'
  }
  return new Error(message, { cause: err })
}

/** The errno-style code of an error or of its cause (level wraps its errors). */
export function errorCode (err: unknown): string | undefined {
  const e = err as { code?: unknown, cause?: { code?: unknown } } | null
  const code = e?.code ?? e?.cause?.code
  return typeof code === 'string' ? code : undefined
}
