import { anySignal } from 'any-signal'
import { errorMessage, toError } from '../../errors.js'
import { ProtocolError, frames } from '../frames.js'
import { oneLine } from '../peer-text.js'
import { FILE_CHUNK_BYTES } from '../file/constants.js'
import { receiveFile, sendFile } from '../file/transfer.js'
import { MAX_HEADERS_PER_FILE, MAX_IDLE_PUSH_STREAMS, MAX_INBOUND_PUSH_STREAMS, MAX_OFFER_BYTES, MAX_PUSHES_IN_FLIGHT_PER_RUNNER, MAX_PUSH_STREAMS_PER_PEER, MIN_COPY_BYTES_PER_S, MIN_RELAY_BYTES_PER_S, PUSH_PROTOCOL, PUSH_PROTOCOLS, PUSH_PROTOCOL_1_0, PUSH_STREAM_IDLE_MS, keepsStream, PUSH_STREAM_WAIT_MS, PUSH_TIMEOUT_MS, SOURCE_WAIT_NOTICE_MS } from './constants.js'
import { limitPerPeer } from '../inbound-limit.js'
import { PeerGate } from '../peer-gate.js'
import { KeptStreams } from './kept-streams.js'
import { createValidators, fromPeer, isFileHeader, isFileResult, isOfferFrame } from './messages.js'
import type { OfferFrame, OfferedFile, TaskOffer, Validators } from './messages.js'
import type { FileLease, FileSupply, OfferSession, Push, PushComponents, PushInit, PushOutcome } from './index.js'
import type { Frames } from '../frames.js'
import type { Connection, PeerId, Stream } from '@libp2p/interface'

export class PushService implements Push {
  private readonly components: PushComponents
  private readonly init: PushInit
  private readonly timeoutMs: number
  private readonly validators: Validators = createValidators()
  private readonly kept: KeptStreams
  private readonly gate = new PeerGate(MAX_PUSHES_IN_FLIGHT_PER_RUNNER)
  /** aborted by stop(): ends the runner's waits for a next offer on kept streams */
  private stopping = new AbortController()
  private started = false

  constructor (components: PushComponents, init: PushInit) {
    this.components = components
    this.init = init
    this.timeoutMs = init.timeoutMs ?? PUSH_TIMEOUT_MS
    this.kept = new KeptStreams({ maxPerRunner: MAX_IDLE_PUSH_STREAMS, idleMs: init.streamIdleMs ?? PUSH_STREAM_IDLE_MS, closeTimeoutMs: this.timeoutMs })
  }

  async start (): Promise<void> {
    if (this.started) return
    // one limit for all versions: a peer cannot multiply its share by speaking several
    const handler = limitPerPeer(MAX_PUSH_STREAMS_PER_PEER, this.onStream)
    await this.components.node.handle(PUSH_PROTOCOLS, handler, { maxInboundStreams: MAX_INBOUND_PUSH_STREAMS })
    this.started = true
    this.kept.open()
    this.stopping = new AbortController()
  }

  async stop (): Promise<void> {
    this.kept.closeAll()
    // a dispatcher's kept streams waiting here for their next offer end now, not after PUSH_STREAM_WAIT_MS
    this.stopping.abort()
    if (!this.started) return
    await this.components.node.unhandle(PUSH_PROTOCOLS)
    this.started = false
  }

  async push (peer: PeerId, offer: TaskOffer, files: FileSupply, options: { signal?: AbortSignal }): Promise<PushOutcome> {
    const runner = peer.toString()
    let leave: () => void
    try {
      leave = await this.gate.enter(runner, options.signal)
    } catch (err) {
      // nothing was sent: a certain failure
      return { status: 'rejected', reason: `push to ${runner} failed: ${errorMessage(err)}`, sentFiles: 0 }
    }
    try {
      return await this.offer(peer, offer, files, options)
    } finally {
      leave()
    }
  }

  /** One offer, its files and the runner's final word; the push timeout starts here, not while it waited its turn. */
  private async offer (peer: PeerId, offer: TaskOffer, files: FileSupply, options: { signal?: AbortSignal }): Promise<PushOutcome> {
    const signal = anySignal([options.signal, AbortSignal.timeout(this.timeoutMs)])
    const runner = peer.toString()
    let stream: Stream | undefined
    let committing = false
    try {
      // a kept stream, or a new one (a dial that fails has delivered nothing: a certain failure).
      // The price of keeping: a kept stream whose host died unnoticed takes the offer and never
      // answers, so that attempt ends uncertain (retried as the next attempt, never run twice)
      const f = this.kept.take(runner) ?? frames(await this.components.node.dialProtocol(peer, PUSH_PROTOCOLS, { signal }), MAX_OFFER_BYTES)
      stream = f.stream
      // signed as sent: a runner older than 1.3.0 would refuse the readOnly mark, so it gets the
      // files without it and copies them (a copy is a correct read-only input, only a slower one)
      const sent = stream.protocol === PUSH_PROTOCOL ? offer : withoutReadOnly(offer)
      const text = JSON.stringify(sent)
      const { auth, cert } = await this.init.auth.sign(new TextEncoder().encode(text), sent)
      const frame = { body: text, auth, cert }
      // a runner needing no files commits right after its reply, and a write that fails while it
      // waits for the socket to drain may have delivered the whole offer: from here on a failure
      // leaves the outcome unknown (only a clean rejection below is certain)
      committing = true
      await f.writeJson(frame, { signal })
      const reply = await f.readJson(this.validators.offerReply, 'offer reply', { signal })
      signal.clear()
      if (reply.status === 'rejected') {
        committing = false
        // kept for the next offer, or closed: a stream left open counts against the per-protocol stream limit
        await this.kept.release(runner, f, keepsStream(f.stream.protocol))
        return { ...fromPeer(reply), sentFiles: 0 }
      }
      for (const file of offer.files) {
        if (!reply.missing.includes(file.sha256)) files.held(file.sha256, runner)
      }
      let sentFiles = 0
      for (const sha of reply.missing) {
        const file = offer.files.find(x => x.sha256 === sha)
        if (file == null) throw new Error(`runner asked for a file not in the offer (${sha.slice(0, 12)}…)`)
        if (stream.protocol === PUSH_PROTOCOL_1_0) {
          await sendFile(f, files.read(sha), options.signal)
          sentFiles++
        } else if (await this.supply(f, runner, file, files, options.signal)) {
          sentFiles++
        }
      }
      // the runner copies every file into the work dir before it answers: a big input takes a while
      const bytes = offer.files.reduce((n, x) => n + x.size, 0)
      const finalSignal = anySignal([options.signal, AbortSignal.timeout(this.timeoutMs + 1000 * Math.ceil(bytes / MIN_COPY_BYTES_PER_S))])
      const final = await f.readJson(this.validators.finalReply, 'final reply', { signal: finalSignal }).finally(() => { finalSignal.clear() })
      await this.kept.release(runner, f, keepsStream(f.stream.protocol))
      return { ...fromPeer(final), sentFiles, fetchedFiles: reply.missing.length - sentFiles }
    } catch (err) {
      stream?.abort(toError(err))
      return { status: 'rejected', reason: `push to ${runner} failed: ${errorMessage(err)}`, sentFiles: 0, ...(committing ? { uncertain: true } : {}) }
    } finally {
      signal.clear()
    }
  }

  /**
   * Gets one file to the runner (1.1.0): from a peer that holds it when one is free, else from our
   * own bytes; a peer source that fails is replaced by the next. True when we sent the bytes.
   */
  private async supply (f: Frames, runner: string, file: OfferedFile, files: FileSupply, signal?: AbortSignal): Promise<boolean> {
    for (;;) {
      const lease = await this.acquire(f, runner, file.sha256, files, signal)
      let ok = false
      try {
        await f.writeJson({ sha256: file.sha256, from: lease.from }, { signal: AbortSignal.timeout(this.timeoutMs) })
        if (lease.from == null) await sendFile(f, files.read(file.sha256), signal)
        const deadline = anySignal([signal, AbortSignal.timeout(this.timeoutMs + 1000 * Math.ceil(file.size / MIN_RELAY_BYTES_PER_S))])
        const result = await f.readJson(isFileResult, 'file result', { signal: deadline }).finally(() => { deadline.clear() })
        if (result.sha256 !== file.sha256) throw new Error(`runner answered for ${result.sha256.slice(0, 12)}…, not ${file.sha256.slice(0, 12)}…`)
        ok = result.ok
        if (ok) return lease.from == null
        if (lease.from == null) throw new Error(`runner could not keep ${file.dest}: ${oneLine(result.reason ?? 'no reason given')}`)
        this.components.log.info({ component: 'push', peer: runner, file: file.sha256.slice(0, 12), from: lease.from, reason: oneLine(result.reason ?? '') }, 'runner could not fetch a file from a peer; trying another source')
      } finally {
        lease.release(ok)
      }
    }
  }

  /** Waits for a source, telling the runner every SOURCE_WAIT_NOTICE_MS that we still work on its offer. */
  private async acquire (f: Frames, runner: string, sha256: string, files: FileSupply, signal?: AbortSignal): Promise<FileLease> {
    const waiting = files.acquire(sha256, runner, signal != null ? { signal } : {})
    for (;;) {
      let timer: ReturnType<typeof setTimeout> | undefined
      const notice = new Promise<'notice'>(resolve => { timer = setTimeout(() => { resolve('notice') }, SOURCE_WAIT_NOTICE_MS) })
      const got = await Promise.race([waiting, notice]).finally(() => { clearTimeout(timer) })
      if (got !== 'notice') return got
      try {
        await f.writeJson({ waiting: true }, { signal: AbortSignal.timeout(this.timeoutMs) })
      } catch (err) {
        // the lease may still come: hand it back rather than hold a source nobody uses
        void waiting.then(lease => { lease.release(false) }, () => {})
        throw err
      }
    }
  }

  private readonly onStream = async (stream: Stream, connection: Connection): Promise<void> => {
    const { log } = this.components
    const from = connection.remotePeer.toString()
    const f = frames(stream, Math.max(MAX_OFFER_BYTES, FILE_CHUNK_BYTES))
    try {
      let frame: OfferFrame | undefined = await f.readJson(isOfferFrame, 'task offer', { signal: AbortSignal.timeout(this.timeoutMs) })
      while (frame != null) {
        const trusted = await this.serveOffer(f, frame, from)
        // a refused signature or a malformed offer ends the stream: a peer that cannot make a valid
        // offer must not hold one of its stream slots here for PUSH_STREAM_WAIT_MS per attempt
        frame = trusted && keepsStream(stream.protocol) ? await nextOffer(f, this.stopping.signal) : undefined
      }
      await stream.close()
    } catch (err) {
      log.warn({ component: 'push', peer: from, reason: errorMessage(err) }, 'push from peer failed')
      stream.abort(toError(err))
    }
  }

  /**
   * One offer, from verifying it to the runner's last word; a session it opened is aborted if it
   * fails. False when the offer was refused unread (bad signature, not a member, malformed).
   */
  private async serveOffer (f: Frames, frame: OfferFrame, from: string): Promise<boolean> {
    let session: OfferSession | undefined
    try {
      const body = new TextEncoder().encode(frame.body)
      // authenticity before content: nothing of an unverified body is parsed or acted on
      const refused = await this.init.auth.verify(body, frame, from)
      const offer = refused == null ? parseOffer(frame.body, this.validators) : undefined
      session = offer != null
        ? await this.init.handler.open(offer, from)
        : rejectedSession(refused ?? 'task offer does not match its schema')
      await f.writeJson(session.reply, { signal: AbortSignal.timeout(this.timeoutMs) })
      if (session.reply.status === 'rejected') return offer != null
      if (f.stream.protocol === PUSH_PROTOCOL_1_0) {
        for (const sha of session.reply.missing) {
          const file = offer?.files.find(x => x.sha256 === sha)
          if (file == null) throw new Error('asked for a file not in the offer')
          await session.receive(sha, file.size, extending(session, receiveFile(f, file.size)))
        }
      } else {
        await this.receiveAll(f, offer?.files ?? [], session)
      }
      const final = await session.commit()
      session = undefined
      await f.writeJson(final, { signal: AbortSignal.timeout(this.timeoutMs) })
      return true
    } catch (err) {
      session?.abort(errorMessage(err))
      throw err
    }
  }

  /**
   * 1.1.0: every missing file arrives after a header naming its source; each is answered with a
   * result. A file whose peer source fails is reported and awaited again (the dispatcher falls back).
   */
  private async receiveAll (f: Frames, offered: OfferedFile[], session: OfferSession): Promise<void> {
    if (session.reply.status !== 'reserved') return
    const pending = new Set(session.reply.missing)
    const maxHeaders = MAX_HEADERS_PER_FILE * pending.size
    for (let headers = 0; pending.size > 0; headers++) {
      if (headers >= maxHeaders) throw new ProtocolError(`more than ${maxHeaders} file headers for ${session.reply.missing.length} files`)
      const header = await f.readJson(isFileHeader, 'file header', { signal: AbortSignal.timeout(this.timeoutMs + SOURCE_WAIT_NOTICE_MS) })
      session.extend()
      if ('waiting' in header) continue
      const file = offered.find(x => x.sha256 === header.sha256)
      if (file == null || !pending.has(header.sha256)) throw new ProtocolError(`file header for ${header.sha256.slice(0, 12)}…, which is not missing here`)
      if (header.from == null) {
        await session.receive(file.sha256, file.size, extending(session, receiveFile(f, file.size)))
      } else {
        const reason = await this.fetchFrom(header.from, file, session)
        if (reason != null) {
          await f.writeJson({ sha256: file.sha256, ok: false, reason }, { signal: AbortSignal.timeout(this.timeoutMs) })
          continue
        }
      }
      pending.delete(file.sha256)
      await f.writeJson({ sha256: file.sha256, ok: true }, { signal: AbortSignal.timeout(this.timeoutMs) })
    }
  }

  /** Fetches a file from a peer into the runner's cache; why not, or undefined when it is held now. */
  private async fetchFrom (from: string, file: OfferedFile, session: OfferSession): Promise<string | undefined> {
    const fetch = this.init.fetch
    if (fetch == null) return 'this runner does not fetch from peers'
    try {
      await session.receive(file.sha256, file.size, extending(session, fetch(from, file.sha256, file.size)))
      return undefined
    } catch (err) {
      return errorMessage(err)
    }
  }
}

/**
 * 1.2.0, runner side: the dispatcher's next offer on a stream that carried one, or undefined when
 * the dispatcher ended the stream (closed its side), sent nothing for PUSH_STREAM_WAIT_MS, or the
 * service is stopping.
 */
async function nextOffer (f: Frames, stopping: AbortSignal): Promise<OfferFrame | undefined> {
  if (stopping.aborted) return undefined
  const signal = anySignal([AbortSignal.timeout(PUSH_STREAM_WAIT_MS), stopping])
  try {
    return await f.readJson(isOfferFrame, 'task offer', { signal })
  } catch (err) {
    if (signal.aborted || f.stream.remoteWriteStatus === 'closed') return undefined
    throw err
  } finally {
    signal.clear()
  }
}

/** Passes chunks through, keeping the runner's reservation alive while they arrive. */
async function * extending (session: OfferSession, chunks: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  for await (const chunk of chunks) {
    session.extend()
    yield chunk
  }
}

function parseOffer (text: string, validators: Validators): TaskOffer | undefined {
  try {
    const value: unknown = JSON.parse(text)
    return validators.offer(value) ? value : undefined
  } catch {
    return undefined
  }
}

function rejectedSession (reason: string): OfferSession {
  return {
    reply: { status: 'rejected', reason },
    receive: async () => { throw new Error(reason) },
    commit: async () => ({ status: 'rejected', reason }),
    abort: () => {},
    extend: () => {}
  }
}

/** the offer as a runner older than 1.3.0 reads it: no file marked readOnly */
function withoutReadOnly (offer: TaskOffer): TaskOffer {
  if (!offer.files.some(f => f.readOnly === true)) return offer
  return { ...offer, files: offer.files.map(({ dest, sha256, size, mode }) => ({ dest, sha256, size, mode })) }
}
