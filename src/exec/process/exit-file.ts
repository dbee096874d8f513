/**
 * The exit file: a task must be able to outlive its daemon (SIGKILL, OOM, upgrade) and still tell
 * the restarted daemon how it ended, but only a parent can read a child's exit status. So the task
 * runs under a small /bin/sh that waits for it and writes its status to a file, as conmon does for
 * containers. The shell traps TERM/INT/HUP only to keep waiting (handlers, unlike ignored signals,
 * are reset for the task it execs), then re-raises a task's fatal signal on itself so the live
 * handle still sees "killed by signal X". A SIGTERM that lands between the trap and the task's
 * start is absorbed by the trap; the SIGKILL after the kill grace still ends such a task.
 */
import { readFile } from 'node:fs/promises'
import { constants } from 'node:os'

const WRAPPER = [
  'f=$1; shift',
  'trap : HUP INT TERM',
  '"$@"; s=$?',
  // one write(2) of a whole line, no temp file and `mv`: a fork and exec less per task (readExitFile
  // takes only a complete line, so a file caught between its creation and that write is "not yet")
  'echo "$s" > "$f"',
  'if [ "$s" -gt 128 ] && [ "$s" -lt 160 ]; then trap - HUP INT TERM; kill -s "$(kill -l "$s")" $$; fi',
  'exit "$s"'
].join('\n')

/** argv that runs `argv` and records its status in `exitFile`. */
export function wrapWithExitFile (argv: string[], exitFile: string): string[] {
  return ['/bin/sh', '-c', WRAPPER, 'mesh-task', exitFile, ...argv]
}

export interface RecordedExit {
  exitCode: number | null
  signal: string | null
}

/** What the exit file says; undefined when the task has not written one (still running, or killed with its shell). */
export async function readExitFile (path: string): Promise<RecordedExit | undefined> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch {
    return undefined
  }
  // the shell writes "N\n" in one go: anything else is a file not written (yet), never "exit 0"
  if (!/^\d{1,3}\n$/.test(text)) return undefined
  const status = Number(text.trim())
  if (status > 255) return undefined
  return decodeStatus(status)
}

/** Pure: a shell status (128 + n for signal n) as exit code or signal. */
export function decodeStatus (status: number): RecordedExit {
  if (status > 128 && status < 160) {
    const name = Object.entries(constants.signals).find(([, n]) => n === status - 128)?.[0]
    if (name != null) return { exitCode: null, signal: name }
  }
  return { exitCode: status, signal: null }
}
