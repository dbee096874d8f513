/**
 * The task's stdout and stderr go straight into the log files: the child gets the descriptors,
 * the daemon never sees (or buffers) a byte of output.
 */
import { appendFile, open } from 'node:fs/promises'
import type { FileHandle } from 'node:fs/promises'
import { LaunchError } from '../errors.js'

/** Errors that may clear by themselves: trying again later can help. */
const TRANSIENT = new Set(['EMFILE', 'ENFILE', 'ENOSPC', 'EAGAIN', 'ENOMEM', 'EBUSY', 'EINTR', 'EDQUOT'])

export function isTransient (err: unknown): boolean {
  return TRANSIENT.has((err as NodeJS.ErrnoException | null)?.code ?? '')
}

export interface Outputs {
  stdout: number
  stderr: number
  close (): Promise<void>
}

async function openLog (path: string, what: string): Promise<FileHandle> {
  try {
    return await open(path, 'a', 0o600)
  } catch (err) {
    throw new LaunchError(`cannot open ${what} log ${path}: ${(err as Error).message}`, isTransient(err), { cause: err })
  }
}

/** Opens both files for appending; throws a LaunchError when either cannot be opened. */
export async function openOutputs (stdout: string, stderr: string): Promise<Outputs> {
  const out = await openLog(stdout, 'stdout')
  let err: FileHandle
  try {
    err = await openLog(stderr, 'stderr')
  } catch (e) {
    await out.close()
    throw e
  }
  return {
    stdout: out.fd,
    stderr: err.fd,
    close: async () => { await Promise.allSettled([out.close(), err.close()]) }
  }
}

/** One `mesh: ...` line in the task's stderr log, so `mesh logs` says why nothing ran. */
export async function noteInLog (path: string, message: string): Promise<void> {
  await appendFile(path, `mesh: ${message}\n`).catch(() => {})
}
