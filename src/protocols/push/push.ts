import { anySignal } from 'any-signal'
import { errorMessage } from '../../errors.js'
import { frames } from '../frames.js'
import { CHUNK_TIMEOUT_MS, FILE_CHUNK_BYTES, MAX_INBOUND_PUSH_STREAMS, MAX_OFFER_BYTES, MAX_PUSH_STREAMS_PER_PEER, PUSH_PROTOCOL, PUSH_TIMEOUT_MS } from './constants.js'
import { limitPerPeer } from '../inbound-limit.js'
import { createValidators, fromPeer, isOfferFrame } from './messages.js'
import type { TaskOffer, Validators } from './messages.js'
import type { FileSource, OfferSession, Push, PushComponents, PushInit, PushOutcome } from './index.js'
import type { Frames } from '../frames.js'
import type { Connection, PeerId, Stream } from '@libp2p/interface'

export class PushService implements Push {
  private readonly components: PushComponents
  private readonly init: PushInit
  private readonly timeoutMs: number
  private readonly validators: Validators = createValidators()
  private started = false

  constructor (components: PushComponents, init: PushInit) {
    this.components = components
    this.init = init
    this.timeoutMs = init.timeoutMs ?? PUSH_TIMEOUT_MS
  }

  async start (): Promise<void> {
    if (this.started) return
    await this.components.node.handle(PUSH_PROTOCOL, limitPerPeer(MAX_PUSH_STREAMS_PER_PEER, this.onStream), { maxInboundStreams: MAX_INBOUND_PUSH_STREAMS })
    this.started = true
  }

  async stop (): Promise<void> {
    if (!this.started) return
    await this.components.node.unhandle(PUSH_PROTOCOL)
    this.started = false
  }

  async push (peer: PeerId, offer: TaskOffer, files: FileSource, options: { signal?: AbortSignal }): Promise<PushOutcome> {
    const signal = anySignal([options.signal, AbortSignal.timeout(this.timeoutMs)])
    let stream: Stream | undefined
    let committing = false
    try {
      stream = await this.components.node.dialProtocol(peer, PUSH_PROTOCOL, { signal })
      const f = frames(stream, MAX_OFFER_BYTES)
      const body = new TextEncoder().encode(JSON.stringify(offer))
      const { auth, cert } = await this.init.auth.sign(body, offer)
      await f.writeJson({ body: new TextDecoder().decode(body), auth, cert }, { signal })
      // a runner needing no files commits right after its reply: from here on a failure leaves the
      // outcome unknown (only a clean rejection below is certain)
      committing = true
      const reply = await f.readJson(this.validators.offerReply, 'offer reply', { signal })
      if (reply.status === 'rejected') {
        committing = false
        // close our side too: a stream left open counts against the per-protocol stream limit
        await stream.close({ signal })
        return { ...fromPeer(reply), sentFiles: 0 }
      }
      for (const sha of reply.missing) {
        const file = offer.files.find(x => x.sha256 === sha)
        if (file == null) throw new Error(`runner asked for a file not in the offer (${sha.slice(0, 12)}…)`)
        await sendFile(f, files(sha), options.signal)
      }
      const finalSignal = anySignal([options.signal, AbortSignal.timeout(this.timeoutMs)])
      const final = await f.readJson(this.validators.finalReply, 'final reply', { signal: finalSignal }).finally(() => { finalSignal.clear() })
      await stream.close({ signal })
      return { ...fromPeer(final), sentFiles: reply.missing.length }
    } catch (err) {
      stream?.abort(err instanceof Error ? err : new Error(String(err)))
      return { status: 'rejected', reason: `push to ${peer.toString()} failed: ${errorMessage(err)}`, sentFiles: 0, ...(committing ? { uncertain: true } : {}) }
    } finally {
      signal.clear()
    }
  }

  private readonly onStream = async (stream: Stream, connection: Connection): Promise<void> => {
    const { log } = this.components
    const from = connection.remotePeer.toString()
    const f = frames(stream, Math.max(MAX_OFFER_BYTES, FILE_CHUNK_BYTES))
    let session: Awaited<ReturnType<PushInit['handler']['open']>> | undefined
    try {
      const frame = await f.readJson(isOfferFrame, 'task offer', { signal: AbortSignal.timeout(this.timeoutMs) })
      const body = new TextEncoder().encode(frame.body)
      // authenticity before content: nothing of an unverified body is parsed or acted on
      const refused = await this.init.auth.verify(body, frame, from)
      const offer = refused == null ? parseOffer(frame.body, this.validators) : undefined
      session = offer != null
        ? await this.init.handler.open(offer, from)
        : rejectedSession(refused ?? 'task offer does not match its schema')
      await f.writeJson(session.reply, { signal: AbortSignal.timeout(this.timeoutMs) })
      if (session.reply.status === 'rejected') {
        await stream.close()
        return
      }
      for (const sha of session.reply.missing) {
        const file = offer?.files.find(x => x.sha256 === sha)
        if (file == null) throw new Error('asked for a file not in the offer')
        await session.receive(sha, file.size, receiveFile(f, file.size))
      }
      const final = await session.commit()
      session = undefined
      await f.writeJson(final, { signal: AbortSignal.timeout(this.timeoutMs) })
      await stream.close()
    } catch (err) {
      session?.abort(errorMessage(err))
      log.warn({ component: 'push', peer: from, reason: errorMessage(err) }, 'push from peer failed')
      stream.abort(err instanceof Error ? err : new Error(String(err)))
    }
  }
}

async function sendFile (f: Frames, chunks: AsyncIterable<Uint8Array>, signal?: AbortSignal): Promise<void> {
  for await (const chunk of chunks) {
    for (let off = 0; off < chunk.byteLength; off += FILE_CHUNK_BYTES) {
      const part = chunk.subarray(off, off + FILE_CHUNK_BYTES)
      const s = anySignal([signal, AbortSignal.timeout(CHUNK_TIMEOUT_MS)])
      try { await f.writeBytes(part, { signal: s }) } finally { s.clear() }
    }
  }
}

async function * receiveFile (f: Frames, size: number): AsyncGenerator<Uint8Array> {
  let received = 0
  while (received < size) {
    const chunk = await f.readBytes({ signal: AbortSignal.timeout(CHUNK_TIMEOUT_MS) })
    if (chunk.byteLength === 0) throw new Error('empty file frame')
    received += chunk.byteLength
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
    abort: () => {}
  }
}
