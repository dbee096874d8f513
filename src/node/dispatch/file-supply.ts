import { fileSource } from './files.js'
import type { StagedFile, StagedFileChangedError } from './files.js'
import type { FileLease, FileSupply } from '../../protocols/push/index.js'

/**
 * Transfers each source serves at once. With cut-through (a runner serves a file while it still
 * receives it) one per source makes a chain: every runner's link carries the file once in and at
 * most once out, so N runners have it after about one transfer time plus N hops, where the
 * dispatcher alone needs N transfer times (pdcp and scp loops do that).
 */
export const UPLOADS_PER_SOURCE = 1

interface Holder {
  active: number
  /** received whole and verified; otherwise still arriving (readable, cut-through) */
  whole: boolean
  /** a fetch from it failed: not offered again for this file */
  failed: boolean
}

export interface FileSupplyInit {
  files: StagedFile[]
  /** this node's peer id: the dispatcher, always a source */
  self: string
  uploadsPerSource?: number
  /**
   * A runner is a source as soon as its transfer starts, not only once it holds the whole file
   * (default true; false: store and forward, a binomial tree of ⌈log₂(N+1)⌉ transfer times)
   */
  cutThrough?: boolean
  /** a staged file turned out to have changed since it was hashed (the job cannot succeed) */
  onChanged?: (err: StagedFileChangedError) => void
}

/**
 * Who holds each file of one job, and who may send it to whom next. A runner joins as a source
 * when it is given a source (cut-through: it serves what it has received so far) or says it holds
 * the file; the dispatcher always is one. A runner waits for a free source. Picks a free peer
 * before the dispatcher, a whole copy before one still arriving, so the dispatcher's link and CPU
 * go to runners nobody else can serve.
 */
export function createFileSupply (init: FileSupplyInit): FileSupply {
  const max = init.uploadsPerSource ?? UPLOADS_PER_SOURCE
  const cutThrough = init.cutThrough ?? true
  const read = fileSource(init.files, init.onChanged)
  const holders = new Map<string, Map<string, Holder>>()
  const wakers = new Set<() => void>()
  const wake = (): void => {
    for (const w of [...wakers]) w()
  }
  const holdersOf = (sha256: string): Map<string, Holder> => {
    let h = holders.get(sha256)
    if (h == null) {
      h = new Map([[init.self, { active: 0, whole: true, failed: false }]])
      holders.set(sha256, h)
    }
    return h
  }
  const hold = (sha256: string, peer: string, whole: boolean): void => {
    const h = holdersOf(sha256)
    const known = h.get(peer)
    if (known == null) h.set(peer, { active: 0, whole, failed: false })
    else if (whole) known.whole = true
  }
  const better = (a: Holder, b: Holder): boolean => a.whole !== b.whole ? a.whole : a.active < b.active
  const pick = (sha256: string, runner: string): [string, Holder] | undefined => {
    let best: [string, Holder] | undefined
    for (const [peer, h] of holdersOf(sha256)) {
      if (peer === runner || h.failed || h.active >= max) continue
      if (peer === init.self) {
        best ??= [peer, h]
      } else if (best == null || best[0] === init.self || better(h, best[1])) {
        best = [peer, h]
      }
    }
    return best
  }
  return {
    read,
    held: (sha256, runner) => {
      hold(sha256, runner, true)
      wake()
    },
    acquire: async (sha256, runner, options) => {
      for (;;) {
        const found = pick(sha256, runner)
        if (found != null) {
          const [peer, h] = found
          h.active++
          if (cutThrough) hold(sha256, runner, false)
          let released = false
          const lease: FileLease = {
            from: peer === init.self ? null : peer,
            release: (ok) => {
              if (released) return
              released = true
              h.active--
              if (!ok && peer !== init.self) h.failed = true
              if (ok) {
                hold(sha256, runner, true)
              } else {
                // its copy is gone: nobody new reads from it (whoever does now fails and falls back)
                const mine = holdersOf(sha256).get(runner)
                if (mine != null && !mine.whole) holdersOf(sha256).delete(runner)
              }
              wake()
            }
          }
          return lease
        }
        options.signal?.throwIfAborted()
        await new Promise<void>(resolve => {
          const done = (): void => {
            wakers.delete(done)
            options.signal?.removeEventListener('abort', done)
            resolve()
          }
          wakers.add(done)
          options.signal?.addEventListener('abort', done, { once: true })
        })
      }
    }
  }
}
