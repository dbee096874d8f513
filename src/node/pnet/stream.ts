import { AbstractMultiaddrConnection } from '@libp2p/utils'
import { StreamXor } from './cipher.js'
import { WriteBatch } from './write-batch.js'
import type { AbortOptions, Logger, MultiaddrConnection } from '@libp2p/interface'
import type { SendResult } from '@libp2p/utils'

/** the list type of the base class (a nested copy of uint8arraylist, not ours) */
type Chunks = Parameters<AbstractMultiaddrConnection['sendData']>[0]

export interface PrivateStreamInit {
  psk: Uint8Array
  localNonce: Uint8Array
  remoteNonce: Uint8Array
  /** the raw connection underneath, after the nonce exchange */
  maConn: MultiaddrConnection
  log: Logger
}

/**
 * The connection as the upper layers (Noise, then Yamux) see it: plaintext in, XORed bytes out; the
 * writes of one callback leave in one socket write (write-batch.ts).
 */
export class PrivateStream extends AbstractMultiaddrConnection {
  private readonly maConn: MultiaddrConnection
  private readonly inbound: StreamXor
  private readonly outbound: StreamXor
  private readonly batch: WriteBatch

  constructor (init: PrivateStreamInit) {
    super({ log: init.log, remoteAddr: init.maConn.remoteAddr, direction: init.maConn.direction })
    this.maConn = init.maConn
    this.inbound = new StreamXor(init.psk, init.remoteNonce)
    this.outbound = new StreamXor(init.psk, init.localNonce)
    this.batch = new WriteBatch(data => this.maConn.send(data), err => { this.abort(err) })
    // libp2p closes a connection by closing its muxer and then the raw connection underneath us,
    // not this stream (libp2p connection.js): what the muxer wrote last (stream FINs, its GoAway)
    // is still in the batch then, and must leave before the raw connection stops taking writes
    const closeRaw = init.maConn.close.bind(init.maConn)
    init.maConn.close = async (options?: AbortOptions) => {
      this.flushQuietly()
      await closeRaw(options)
    }
    this.maConn.addEventListener('message', (evt) => {
      // bytes after the close have no cipher left; a throw here would kill the daemon
      if (this.inbound.closed) return
      // a socket read is a fresh buffer only we hold: decrypt it where it lies
      const data = evt.data
      if (data instanceof Uint8Array) {
        this.onData(this.inbound.updateInPlace(data))
      } else {
        for (const buf of data) this.onData(this.inbound.updateInPlace(buf))
      }
    })
    this.maConn.addEventListener('drain', () => {
      this.batch.drained()
      this.onMuxerDrain()
    })
    this.maConn.addEventListener('close', (evt) => {
      this.batch.discard()
      this.inbound.close()
      this.outbound.close()
      if (evt.error == null) this.onTransportClosed()
      else if (evt.local === true) this.abort(evt.error)
      else this.onRemoteReset()
    })
  }

  async sendClose (options?: AbortOptions): Promise<void> {
    await this.maConn.close(options)
  }

  /** sends what is queued; a connection already closing takes nothing more, and its close goes on */
  private flushQuietly (): void {
    try {
      if (!this.outbound.closed) this.batch.flush()
    } catch (err) {
      this.log.trace('could not send the last batched bytes before the close - %e', err)
      this.batch.discard()
    }
  }

  sendData (data: Chunks): SendResult {
    // a write racing the close of the connection underneath: nothing can be sent any more
    if (this.outbound.closed) return { sentBytes: data.byteLength, canSendMore: false }
    // encrypted straight from the list's parts: no concatenated copy first
    return { sentBytes: data.byteLength, canSendMore: this.batch.write(this.outbound.updateAll(data, data.byteLength)) }
  }

  sendReset (err: Error): void {
    this.batch.discard()
    this.maConn.abort(err)
  }

  sendPause (): void {
    this.maConn.pause()
  }

  sendResume (): void {
    this.maConn.resume()
  }
}
