/**
 * The dispatcher's 1.2.0 push streams between offers, by runner: the next offer to a runner goes
 * over one of these instead of a new stream (SYN, multistream-select round trip, FIN each way).
 * At most `maxPerRunner` per runner, each closed after `idleMs` unused; closing our side ends the
 * runner's wait for the next offer too.
 */
import { toError } from '../../errors.js'
import type { Frames } from '../frames.js'
import type { Stream } from '@libp2p/interface'

export interface KeptStreamsInit {
  maxPerRunner: number
  idleMs: number
  /** for closing a stream (it waits for the close to be sent) */
  closeTimeoutMs: number
}

interface Kept {
  f: Frames
  timer: ReturnType<typeof setTimeout>
}

export class KeptStreams {
  private readonly init: KeptStreamsInit
  private readonly byRunner = new Map<string, Kept[]>()
  private closed = false

  constructor (init: KeptStreamsInit) {
    this.init = init
  }

  /** A kept stream to `runner` that still works both ways, if there is one; it is the caller's now. */
  take (runner: string): Frames | undefined {
    const kept = this.byRunner.get(runner)
    for (let next = kept?.pop(); next != null; next = kept?.pop()) {
      clearTimeout(next.timer)
      if (usable(next.f.stream)) {
        if (kept?.length === 0) this.byRunner.delete(runner)
        return next.f
      }
      this.end(next.f)
    }
    this.byRunner.delete(runner)
    return undefined
  }

  /**
   * After the runner's last word: keeps the stream for the next offer when `reusable` (a 1.2.0
   * stream) and there is room, else closes it. Never throws: the runner's word stands whatever the
   * stream does now.
   */
  async release (runner: string, f: Frames, reusable: boolean): Promise<void> {
    const kept = this.byRunner.get(runner) ?? []
    if (!reusable || this.closed || kept.length >= this.init.maxPerRunner || !usable(f.stream)) {
      await this.close(f.stream)
      return
    }
    const entry: Kept = {
      f,
      timer: setTimeout(() => {
        const list = this.byRunner.get(runner)
        const at = list?.indexOf(entry) ?? -1
        if (at >= 0) list?.splice(at, 1)
        if (list?.length === 0) this.byRunner.delete(runner)
        this.end(f)
      }, this.init.idleMs)
    }
    // an idle stream must not keep a stopping daemon alive
    entry.timer.unref()
    kept.push(entry)
    this.byRunner.set(runner, kept)
  }

  /** Ends every kept stream; from now on released streams are closed. */
  closeAll (): void {
    this.closed = true
    for (const kept of [...this.byRunner.values()].flat()) {
      clearTimeout(kept.timer)
      this.end(kept.f)
    }
    this.byRunner.clear()
  }

  /** Allows keeping streams again (a service started after a stop). */
  open (): void {
    this.closed = false
  }

  private end (f: Frames): void {
    void this.close(f.stream)
  }

  private async close (stream: Stream): Promise<void> {
    await stream.close({ signal: AbortSignal.timeout(this.init.closeTimeoutMs) }).catch((err: unknown) => {
      stream.abort(toError(err))
    })
  }
}

/** open both ways: the runner has not closed it and nothing failed */
function usable (stream: Stream): boolean {
  return stream.status === 'open' && stream.writeStatus === 'writable' && stream.readStatus === 'readable' && stream.remoteWriteStatus === 'writable'
}
