/**
 * Push: hand a task to a runner, reserve-then-run.
 *
 *   dispatcher                                runner
 *     │── TaskOffer (spec + file manifest) ──▶│ verify, re-check capacity, reserve a NUMA node
 *     │◀─ rejected{reason} | reserved{numa, missing hashes}
 *     │── per missing file: {sha256, from} ──▶│ from null: its bytes follow; from P: fetch it
 *     │   (+ the bytes when from is null)     │   from peer P (the file protocol)
 *     │◀─ {sha256, ok, reason?} ──────────────│ hash while writing; cache by sha256
 *     │◀─ accepted{numa} | rejected{reason} ──│ work dir, launch
 *
 * A file a runner fails to fetch from a peer is sent by the dispatcher instead. A runner that
 * holds or receives a file is a source for the others (dispatch/file-supply.ts picks; it passes
 * bytes on as they arrive), so a staged input spreads along a chain instead of N copies over the
 * dispatcher's link.
 *
 * The stream (1.2.0) then waits for the dispatcher's next offer to that runner: a busy dispatcher
 * pays the stream's opening (a protocol negotiation round trip) and closing once, not per task.
 *
 * A rejection is a status in the message, not a broken stream: the dispatcher tries the next
 * candidate. Every read has a deadline, every frame a size limit, and both sides close the stream.
 */
import { PushService } from './push.js'
import type { FinalReply, OfferReply, TaskOffer } from './messages.js'
import type { Logger } from '../../node/logger.js'
import type { PeerId, Libp2p } from '@libp2p/interface'

export type { TaskOffer, OfferedFile, OfferReply, FinalReply } from './messages.js'
export { PUSH_PROTOCOL, PUSH_PROTOCOL_1_2, PUSH_PROTOCOL_1_1, PUSH_PROTOCOL_1_0 } from './constants.js'

/** The runner's side of one offer; the local (self-dispatch) path uses the same interface. */
export interface OfferSession {
  reply: OfferReply
  receive: (sha256: string, size: number, chunks: AsyncIterable<Uint8Array>) => Promise<void>
  commit: () => Promise<FinalReply>
  abort: (reason: string) => void
  /** the dispatcher is still at work on this offer (files arriving, a source awaited): keep the reservation */
  extend: () => void
}

export interface OfferHandler {
  open: (offer: TaskOffer, from: string) => Promise<OfferSession>
}

/** The dispatcher's side of a job's files: its own bytes, and who else holds each file now. */
export interface FileSupply {
  /** the dispatcher's own bytes of a staged file */
  read: (sha256: string) => AsyncIterable<Uint8Array>
  /** waits for a free source of the file for `runner`: a peer that holds it, or the dispatcher (from null) */
  acquire: (sha256: string, runner: string, options: { signal?: AbortSignal }) => Promise<FileLease>
  /** `runner` said it holds the file already: it may serve the others */
  held: (sha256: string, runner: string) => void
}

export interface FileLease {
  /** the peer to fetch from, or null for the dispatcher's own bytes */
  from: string | null
  /** the transfer ended: ok, the runner holds the file now (and may serve it) */
  release: (ok: boolean) => void
}

/** A supply with the dispatcher as the only source (local runs, tests). */
export function selfSupply (read: (sha256: string) => AsyncIterable<Uint8Array>): FileSupply {
  return { read, acquire: async () => ({ from: null, release: () => {} }), held: () => {} }
}

export interface PushComponents {
  node: Pick<Libp2p, 'handle' | 'unhandle' | 'dialProtocol'>
  log: Logger
}

/**
 * Who may hand tasks to whom. The dispatcher signs every offer body; the runner verifies before it
 * parses the body (signature, expiry, replay, the dispatcher's role). Returns why it refuses.
 */
export interface OfferAuth {
  sign: (body: Uint8Array, offer: TaskOffer) => Promise<{ auth: string, cert: string | null }>
  verify: (body: Uint8Array, frame: { auth: string, cert: string | null }, from: string) => Promise<string | null>
}

export interface PushInit {
  handler: OfferHandler
  auth: OfferAuth
  /** the runner's way to fetch a file from a peer (the file protocol); without it, peer sources fail over to the dispatcher */
  fetch?: (peer: string, sha256: string, size: number, signal?: AbortSignal) => AsyncIterable<Uint8Array>
  timeoutMs?: number
  /** how long the dispatcher keeps a 1.2.0 stream open for a next offer (default PUSH_STREAM_IDLE_MS) */
  streamIdleMs?: number
}

export interface Push {
  start: () => Promise<void>
  stop: () => Promise<void>
  /** offers `offer` to `peer`; resolves with the runner's final word, never throws for a refusal */
  push: (peer: PeerId, offer: TaskOffer, files: FileSupply, options: { signal?: AbortSignal }) => Promise<PushOutcome>
}

export function push (init: PushInit): (components: PushComponents) => Push {
  return (components) => new PushService(components, init)
}

/**
 * The runner's final word; how many files the dispatcher sent it and how many it fetched from other
 * runners (the rest it held already). `uncertain`: the stream failed after the runner was told to
 * commit, so the task may be running there; the dispatcher tries elsewhere under a new attempt number, so two runs never share one.
 */
export type PushOutcome = FinalReply & { sentFiles: number, fetchedFiles?: number, uncertain?: boolean }

/** Runs an offer against a local handler (a node dispatching to itself cannot dial itself). */
export async function pushLocal (handler: OfferHandler, auth: OfferAuth, offer: TaskOffer, files: FileSupply, self: string): Promise<PushOutcome> {
  // the same checks as over the wire: a node without the dispatch role may not run tasks on itself either
  const body = new TextEncoder().encode(JSON.stringify(offer))
  const refused = await auth.verify(body, await auth.sign(body, offer), self)
  if (refused != null) return { status: 'rejected', reason: refused, sentFiles: 0 }
  const session = await handler.open(offer, self)
  if (session.reply.status === 'rejected') return { ...session.reply, sentFiles: 0 }
  try {
    for (const sha of session.reply.missing) {
      const file = offer.files.find(f => f.sha256 === sha)
      if (file == null) throw new Error(`runner asked for unknown file ${sha}`)
      await session.receive(sha, file.size, files.read(sha))
    }
  } catch (err) {
    session.abort('file transfer failed')
    return { status: 'rejected', reason: `file transfer failed: ${(err as Error).message}`, sentFiles: 0 }
  }
  return { ...(await session.commit()), sentFiles: session.reply.missing.length }
}
