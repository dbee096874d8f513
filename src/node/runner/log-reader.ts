import { open } from 'node:fs/promises'
import { setTimeout as sleep } from 'node:timers/promises'

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
  pollMs?: number
}

const READ_BYTES = 64 * 1024

/**
 * Reads a task's stdout and stderr files from the start, and with `follow` keeps polling them
 * until the task is done, then drains what is left. Polling, not fs.watch: it behaves the same
 * on every filesystem and costs one stat per file per tick only while someone follows.
 */
export async function * readLogs (paths: Record<OutputStream, string>, opts: FollowOptions): AsyncGenerator<LogChunk> {
  const offsets: Record<OutputStream, number> = { stdout: 0, stderr: 0 }
  const buf = Buffer.alloc(READ_BYTES)
  while (true) {
    // read isDone before draining: output written before the task ended is then always seen
    const done = !opts.follow || opts.isDone()
    let progressed = false
    for (const stream of ['stdout', 'stderr'] as const) {
      const fh = await open(paths[stream], 'r').catch(() => undefined)
      if (fh == null) continue
      try {
        while (true) {
          const { bytesRead } = await fh.read(buf, 0, READ_BYTES, offsets[stream])
          if (bytesRead === 0) break
          offsets[stream] += bytesRead
          progressed = true
          yield { stream, data: Uint8Array.from(buf.subarray(0, bytesRead)) }
        }
      } finally {
        await fh.close()
      }
    }
    if (done) return
    if (opts.signal?.aborted === true) return
    if (!progressed) await sleep(opts.pollMs ?? 100, undefined, { signal: opts.signal }).catch(() => {})
  }
}
