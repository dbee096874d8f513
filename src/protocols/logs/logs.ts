import { pipe } from 'it-pipe'
import { errorMessage, toError } from '../../errors.js'
import { frames } from '../frames.js'
import { FRAME_END, LOGS_PROTOCOL, MAX_INBOUND_LOG_STREAMS, MAX_LOG_FRAME_BYTES, MAX_LOG_REQUEST_BYTES, MAX_LOG_STREAMS_PER_PEER, REQUEST_TIMEOUT_MS, WRITE_TIMEOUT_MS } from './constants.js'
import { limitPerPeer } from '../inbound-limit.js'
import { PeerGate } from '../peer-gate.js'
import { decodeLogFrame, isLogRequest, toFrames } from './frame.js'
import type { LogProvider, Logs, LogsComponents } from './index.js'
import type { LogChunk } from '../../node/runner/log-reader.js'
import type { Connection, PeerId, Stream } from '@libp2p/interface'

export class LogsNotFoundError extends Error {
  constructor (taskId: string, peer: string) {
    super(`peer ${peer} holds no logs of task ${taskId}`)
    this.name = 'LogsNotFoundError'
  }
}

export class LogsService implements Logs {
  private readonly components: LogsComponents
  private readonly provider: LogProvider
  private controller = new AbortController()
  private started = false
  /** our log streams to each peer, at most its limit at once */
  private readonly gate = new PeerGate(MAX_LOG_STREAMS_PER_PEER)

  constructor (components: LogsComponents, provider: LogProvider) {
    this.components = components
    this.provider = provider
  }

  async start (): Promise<void> {
    if (this.started) return
    this.controller = new AbortController()
    // outbound too: libp2p allows 64 streams of a protocol per connection unless told otherwise
    await this.components.node.handle(LOGS_PROTOCOL, limitPerPeer(MAX_LOG_STREAMS_PER_PEER, this.onStream), { maxInboundStreams: MAX_INBOUND_LOG_STREAMS, maxOutboundStreams: MAX_INBOUND_LOG_STREAMS })
    this.started = true
  }

  async stop (): Promise<void> {
    if (!this.started) return
    this.controller.abort()
    await this.components.node.unhandle(LOGS_PROTOCOL)
    this.started = false
  }

  async * fetch (peer: PeerId, taskId: string, follow: boolean, signal: AbortSignal): AsyncGenerator<LogChunk> {
    // past the peer's limit a stream would be reset: wait for a turn instead (the timeout starts with it)
    const leave = await this.gate.enter(peer.toString(), signal)
    let stream: Stream
    try {
      stream = await this.components.node.dialProtocol(peer, LOGS_PROTOCOL, { signal: AbortSignal.any([signal, AbortSignal.timeout(REQUEST_TIMEOUT_MS)]) })
    } catch (err) {
      leave()
      throw err
    }
    const f = frames(stream, MAX_LOG_FRAME_BYTES)
    let closed = false
    try {
      await f.writeJson({ taskId, follow }, { signal })
      while (true) {
        // a followed task may be silent for long: only the caller's signal bounds this read
        const frame = await f.readBytes({ signal: follow ? signal : AbortSignal.any([signal, AbortSignal.timeout(REQUEST_TIMEOUT_MS)]) }, 'log frame')
        const decoded = decodeLogFrame(frame)
        if ('end' in decoded) {
          if (!decoded.found) throw new LogsNotFoundError(taskId, peer.toString())
          break
        }
        yield decoded
      }
      await stream.close({ signal })
      closed = true
    } finally {
      // also when the consumer stops early: an open stream counts against the peer's limit
      if (!closed) stream.abort(new Error('log fetch ended early'))
      leave()
    }
  }

  private readonly onStream = async (stream: Stream, connection: Connection): Promise<void> => {
    // the limit bounds what is read (only the request); the frames written are split to MAX_LOG_FRAME_BYTES
    const f = frames(stream, MAX_LOG_REQUEST_BYTES)
    const left = new AbortController()
    stream.addEventListener('close', () => { left.abort() }, { once: true })
    const signal = AbortSignal.any([this.controller.signal, left.signal])
    try {
      const req = await f.readJson(isLogRequest, 'log request', { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) })
      const source = this.provider(req.taskId, req.follow, signal, connection.remotePeer.toString())
      if (source != null) {
        // log chunks → framed, size-limited messages → the stream, one backpressured write at a time
        await pipe(source, toFrames, async (frames) => {
          for await (const frame of frames) await f.writeBytes(frame, { signal: AbortSignal.timeout(WRITE_TIMEOUT_MS) })
        })
      }
      const end = new TextEncoder().encode(JSON.stringify({ found: source != null }))
      await f.writeBytes(Uint8Array.from([FRAME_END, ...end]), { signal: AbortSignal.timeout(WRITE_TIMEOUT_MS) })
      await stream.close()
    } catch (err) {
      this.components.log.debug({ component: 'logs', peer: connection.remotePeer.toString(), reason: errorMessage(err) }, 'log stream ended early')
      stream.abort(toError(err))
    }
  }
}
