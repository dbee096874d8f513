/**
 * File: one peer reads a file another holds, by its SHA-256.
 *
 *   fetcher                                   holder
 *     │── {sha256} ──────────────────────────▶│ looks in its file cache and its transfers
 *     │◀─ ok{size} | missing{reason} | busy{reason}
 *     │◀─ the file's bytes, in frames ────────│ (as they arrive, when it still receives it)
 *
 * What lets a dispatcher's runners pass a staged file on to each other (a chain, cut-through, not
 * N copies over the dispatcher's link). Knowing the hash is the right to read, as in bitswap: only swarm members
 * can connect at all, and a fetcher keeps nothing whose bytes do not hash to what it asked for.
 */
import { FileService } from './file.js'
import type { Logger } from '../../node/logger.js'
import type { Libp2p, PeerId } from '@libp2p/interface'

export { FILE_PROTOCOL, MAX_UPLOADS } from './constants.js'
export type { FileRequest, FileReply } from './messages.js'

/** A file this node can send: its size and a way to read its bytes. */
export interface HeldFile {
  size: number
  read: () => AsyncIterable<Uint8Array>
}

/**
 * The bytes this node serves `from`: a whole, verified file, or one still arriving (its reads end
 * with an error if it fails its hash check), or undefined (not held, or not for that peer).
 */
export interface HeldFiles {
  open: (sha256: string, from: string) => Promise<HeldFile | undefined>
}

export interface FileComponents {
  node: Pick<Libp2p, 'handle' | 'unhandle' | 'dialProtocol'>
  log: Logger
}

export interface FileInit {
  files: HeldFiles
  /** concurrent uploads, all peers together (default MAX_UPLOADS) */
  maxUploads?: number
  timeoutMs?: number
}

export interface FileProtocol {
  start: () => Promise<void>
  stop: () => Promise<void>
  /**
   * The bytes of `sha256` from `peer`, which must declare `size`. Throws (with one line) when the
   * peer does not hold it, is busy, or the transfer stalls; the caller verifies the hash.
   */
  fetch: (peer: PeerId, sha256: string, size: number, signal?: AbortSignal) => AsyncIterable<Uint8Array>
  /** uploads in progress now */
  readonly uploads: number
}

export function fileProtocol (init: FileInit): (components: FileComponents) => FileProtocol {
  return (components) => new FileService(components, init)
}
