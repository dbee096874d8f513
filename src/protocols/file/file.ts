import { anySignal } from 'any-signal'
import { errorMessage, toError } from '../../errors.js'
import { frames } from '../frames.js'
import { limitPerPeer } from '../inbound-limit.js'
import { FILE_CHUNK_BYTES, FILE_PROTOCOL, MAX_FILE_STREAMS_PER_PEER, MAX_INBOUND_FILE_STREAMS, MAX_REQUEST_BYTES, MAX_UPLOADS, REQUEST_TIMEOUT_MS } from './constants.js'
import { isFileReply, isFileRequest, replyReason } from './messages.js'
import { receiveFile, sendFile } from './transfer.js'
import type { FileComponents, FileInit, FileProtocol } from './index.js'
import type { FileReply } from './messages.js'
import type { Connection, PeerId, Stream } from '@libp2p/interface'

export class FileService implements FileProtocol {
  private readonly components: FileComponents
  private readonly init: FileInit
  private readonly timeoutMs: number
  private readonly maxUploads: number
  private active = 0
  private started = false

  constructor (components: FileComponents, init: FileInit) {
    this.components = components
    this.init = init
    this.timeoutMs = init.timeoutMs ?? REQUEST_TIMEOUT_MS
    this.maxUploads = init.maxUploads ?? MAX_UPLOADS
  }

  get uploads (): number {
    return this.active
  }

  async start (): Promise<void> {
    if (this.started) return
    await this.components.node.handle(FILE_PROTOCOL, limitPerPeer(MAX_FILE_STREAMS_PER_PEER, this.onStream), { maxInboundStreams: MAX_INBOUND_FILE_STREAMS })
    this.started = true
  }

  async stop (): Promise<void> {
    if (!this.started) return
    await this.components.node.unhandle(FILE_PROTOCOL)
    this.started = false
  }

  async * fetch (peer: PeerId, sha256: string, size: number, signal?: AbortSignal): AsyncGenerator<Uint8Array> {
    const opening = anySignal([signal, AbortSignal.timeout(this.timeoutMs)])
    let stream: Stream | undefined
    try {
      stream = await this.components.node.dialProtocol(peer, FILE_PROTOCOL, { signal: opening })
      const f = frames(stream, Math.max(MAX_REQUEST_BYTES, FILE_CHUNK_BYTES))
      await f.writeJson({ sha256 }, { signal: opening })
      const reply = await f.readJson(isFileReply, 'file reply', { signal: opening })
      opening.clear()
      if (reply.status !== 'ok') throw new Error(`${reply.status === 'busy' ? 'it is busy' : 'it does not hold it'}: ${replyReason(reply)}`)
      if (reply.size !== size) throw new Error(`it holds ${reply.size} bytes under that hash, not ${size}`)
      yield * receiveFile(f, size, signal)
      await stream.close({ signal: AbortSignal.timeout(this.timeoutMs) })
    } catch (err) {
      stream?.abort(toError(err))
      throw new Error(`fetching ${sha256.slice(0, 12)}… from ${peer.toString()}: ${errorMessage(err)}`, { cause: err })
    } finally {
      opening.clear()
    }
  }

  private readonly onStream = async (stream: Stream, connection: Connection): Promise<void> => {
    const from = connection.remotePeer.toString()
    const f = frames(stream, MAX_REQUEST_BYTES)
    const deadline = (): AbortSignal => AbortSignal.timeout(this.timeoutMs)
    let counted = false
    try {
      const request = await f.readJson(isFileRequest, 'file request', { signal: deadline() })
      // the slot is taken before the lookup: two requests cannot both pass the check
      counted = this.active < this.maxUploads
      if (counted) this.active++
      const held = counted ? await this.init.files.open(request.sha256, from) : undefined
      const reply: FileReply = held != null
        ? { status: 'ok', size: held.size }
        : counted
          ? { status: 'missing', reason: 'no file with that hash here' }
          : { status: 'busy', reason: `already sending ${this.active} files` }
      await f.writeJson(reply, { signal: deadline() })
      if (held != null) await sendFile(f, held.read())
      await stream.close({ signal: deadline() })
    } catch (err) {
      this.components.log.warn({ component: 'file', peer: from, reason: errorMessage(err) }, 'file request from peer failed')
      stream.abort(toError(err))
    } finally {
      if (counted) this.active--
    }
  }
}
