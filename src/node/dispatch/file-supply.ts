import { fileSource } from './files.js'
import type { StagedFile } from './files.js'
import type { FileLease, FileSupply } from '../../protocols/push/index.js'

/**
 * Transfers each source serves at once. One is the store-and-forward optimum when links limit: the
 * holders double every round (a binomial tree), so N runners have a file after ⌈log₂(N+1)⌉ transfer
 * times, where the dispatcher alone needs N (pdcp and scp loops do that).
 */
export const UPLOADS_PER_SOURCE = 1

interface Holder {
  active: number
  /** a fetch from it failed: not offered again for this file */
  failed: boolean
}

export interface FileSupplyInit {
  files: StagedFile[]
  /** this node's peer id: the dispatcher, always a source */
  self: string
  uploadsPerSource?: number
}

/**
 * Who holds each file of one job, and who may send it to whom next. Runners join as sources once
 * they hold a file (received whole and verified, or held already); a runner waits for a free
 * source; the dispatcher is always one. Picks a free peer before the dispatcher, so the
 * dispatcher's link and CPU go to runners nobody else can serve.
 */
export function createFileSupply (init: FileSupplyInit): FileSupply {
  const max = init.uploadsPerSource ?? UPLOADS_PER_SOURCE
  const read = fileSource(init.files)
  const holders = new Map<string, Map<string, Holder>>()
  const wakers = new Set<() => void>()
  const wake = (): void => {
    for (const w of [...wakers]) w()
  }
  const holdersOf = (sha256: string): Map<string, Holder> => {
    let h = holders.get(sha256)
    if (h == null) {
      h = new Map([[init.self, { active: 0, failed: false }]])
      holders.set(sha256, h)
    }
    return h
  }
  const hold = (sha256: string, peer: string): void => {
    const h = holdersOf(sha256)
    if (!h.has(peer)) h.set(peer, { active: 0, failed: false })
  }
  const pick = (sha256: string, runner: string): [string, Holder] | undefined => {
    let best: [string, Holder] | undefined
    for (const [peer, h] of holdersOf(sha256)) {
      if (peer === runner || h.failed || h.active >= max) continue
      if (peer === init.self) {
        best ??= [peer, h]
      } else if (best == null || best[0] === init.self || h.active < best[1].active) {
        best = [peer, h]
      }
    }
    return best
  }
  return {
    read,
    held: (sha256, runner) => {
      hold(sha256, runner)
      wake()
    },
    acquire: async (sha256, runner, options) => {
      for (;;) {
        const found = pick(sha256, runner)
        if (found != null) {
          const [peer, h] = found
          h.active++
          let released = false
          const lease: FileLease = {
            from: peer === init.self ? null : peer,
            release: (ok) => {
              if (released) return
              released = true
              h.active--
              if (!ok && peer !== init.self) h.failed = true
              if (ok) hold(sha256, runner)
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
