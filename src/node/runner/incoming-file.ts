import { open } from 'node:fs/promises'
import type { FileHandle } from 'node:fs/promises'

/** what one read of an incoming file returns at most */
const READ_BYTES = 1024 * 1024

/**
 * A file still arriving in the cache (its `.part` temp file), readable by peers while it grows:
 * cut-through forwarding, so a runner passes a staged input on while it receives it and a chain
 * of runners costs about one transfer time instead of one per hop. Readers get only bytes already
 * written; they end with the file or fail with it. The bytes are not verified yet: a fetcher
 * hashes what it receives and keeps nothing that does not match (as it does for whole files).
 */
export class IncomingFile {
  readonly size: number
  private readonly tmp: string
  private readonly dest: string
  /** the temp file exists (readers wait for it: they may come before the receiver created it) */
  private created = false
  private written = 0
  private outcome: 'receiving' | 'whole' | Error = 'receiving'
  private waiters: Array<() => void> = []

  constructor (tmp: string, dest: string, size: number) {
    this.tmp = tmp
    this.dest = dest
    this.size = size
  }

  /** the temp file exists now */
  opened (): void {
    this.created = true
    this.wake()
  }

  /** `bytes` more are on disk (the write resolved) */
  wrote (bytes: number): void {
    this.written += bytes
    this.wake()
  }

  /** the file is whole, verified and renamed to `dest` */
  finished (): void {
    this.outcome = 'whole'
    this.wake()
  }

  failed (reason: Error): void {
    this.outcome = reason
    this.wake()
  }

  async * read (): AsyncGenerator<Uint8Array> {
    while (!this.created && this.outcome === 'receiving') await this.change()
    const fh = await this.open()
    try {
      let pos = 0
      while (pos < this.size) {
        if (this.outcome instanceof Error) throw new Error(`this runner's own copy failed: ${this.outcome.message}`)
        if (pos >= this.written && this.outcome === 'receiving') {
          await this.change()
          continue
        }
        // whole: everything up to size is on disk, whatever `written` says
        const end = this.outcome === 'whole' ? this.size : this.written
        const buf = Buffer.allocUnsafe(Math.min(READ_BYTES, end - pos))
        const { bytesRead } = await fh.read(buf, 0, buf.byteLength, pos)
        if (bytesRead === 0) throw new Error(`file ended at ${pos} of ${this.size} bytes`)
        pos += bytesRead
        yield buf.subarray(0, bytesRead)
      }
      // the last bytes are out; end only once our own copy proved whole, or say it did not
      while (this.outcome === 'receiving') await this.change()
      if (this.outcome instanceof Error) throw new Error(`this runner's own copy failed: ${this.outcome.message}`)
    } finally {
      await fh.close()
    }
  }

  /** the temp file; once renamed, the whole file (an open handle survives the rename either way) */
  private async open (): Promise<FileHandle> {
    try {
      return await open(this.tmp, 'r')
    } catch (err) {
      if (this.outcome === 'whole') return open(this.dest, 'r')
      if (this.outcome instanceof Error) throw new Error(`this runner's own copy failed: ${this.outcome.message}`)
      throw err
    }
  }

  /** resolves at the next write, rename or failure */
  private async change (): Promise<void> {
    await new Promise<void>(resolve => { this.waiters.push(resolve) })
  }

  private wake (): void {
    const waiters = this.waiters
    this.waiters = []
    for (const w of waiters) w()
  }
}
