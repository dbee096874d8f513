import { open } from 'node:fs/promises'
import { setTimeout as sleep } from 'node:timers/promises'
import type { FileHandle } from 'node:fs/promises'

export type OutputStream = 'stdout' | 'stderr'

export interface LogChunk {
  stream: OutputStream
  data: Uint8Array
}

export interface FollowOptions {
  /** keep reading while the task runs */
  follow: boolean
  /** true once the task has ended and its files are complete */
  isDone: () => boolean
  signal?: AbortSignal
  /** first wait after a tick that found nothing new; it doubles up to maxPollMs while nothing comes */
  pollMs?: number
  maxPollMs?: number
}

const READ_BYTES = 64 * 1024
const STREAMS = ['stdout', 'stderr'] as const
const POLL_MS = 100
const MAX_POLL_MS = 500

/**
 * Reads a task's stdout and stderr files from the start, and with `follow` keeps polling them
 * until the task is done, then drains what is left. Polling, not fs.watch: it behaves the same
 * on every filesystem. A follower keeps its two files open and waits longer while a task is quiet
 * (100 ms doubling to 500 ms, back to 100 ms on new output), so the many followers of a big
 * runner's tasks cost a read per file every half second, not an open, read and close every 100 ms.
 * The files stay the same inodes (the log limit cuts them in place), so open handles see it all.
 */
export async function * readLogs (paths: Record<OutputStream, string>, opts: FollowOptions): AsyncGenerator<LogChunk> {
  const offsets: Record<OutputStream, number> = { stdout: 0, stderr: 0 }
  const handles: Partial<Record<OutputStream, FileHandle>> = {}
  const buf = Buffer.alloc(READ_BYTES)
  const minWait = opts.pollMs ?? POLL_MS
  let wait = minWait
  try {
    while (true) {
      // read isDone before draining: output written before the task ended is then always seen
      const done = !opts.follow || opts.isDone()
      let progressed = false
      for (const stream of STREAMS) {
        // a file not created yet is looked for again on the next tick
        handles[stream] ??= await open(paths[stream], 'r').catch(() => undefined)
        const fh = handles[stream]
        if (fh == null) continue
        while (true) {
          const { bytesRead } = await fh.read(buf, 0, READ_BYTES, offsets[stream])
          if (bytesRead === 0) break
          offsets[stream] += bytesRead
          progressed = true
          yield { stream, data: Uint8Array.from(buf.subarray(0, bytesRead)) }
        }
      }
      if (done) return
      if (opts.signal?.aborted === true) return
      if (progressed) {
        wait = minWait
        continue
      }
      await sleep(wait, undefined, { signal: opts.signal }).catch(() => {})
      wait = Math.min(opts.maxPollMs ?? MAX_POLL_MS, wait * 2)
    }
  } finally {
    await Promise.all(Object.values(handles).map(async fh => fh?.close()))
  }
}
