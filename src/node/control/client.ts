import { createConnection } from 'node:net'
import { MeshError, NoDaemonError, isMeshError } from '../../errors.js'
import { LineDecoder, decodeReply, encodeLine } from './codec.js'
import { DEFAULT_CALL_TIMEOUT_MS, MAX_REPLY_BYTES } from './constants.js'
import { DaemonClosedError, DaemonTimeoutError, RemoteError, checkSocketPath } from './errors.js'
import type { ControlReply, WireError } from './codec.js'
import type { CallOptions, ControlClient, ControlClientInit } from './index.js'

/** Deliberately only node:net and this folder: every CLI command pays for what it loads. */
export class ControlSocketClient implements ControlClient {
  private readonly path: string
  private readonly home: string

  constructor (init: ControlClientInit) {
    this.path = init.path
    this.home = init.home
  }

  async call <T = unknown> (method: string, params?: unknown, opts: CallOptions = {}): Promise<T> {
    const items: unknown[] = []
    for await (const reply of this.exchange(method, params, opts, true)) {
      if ('error' in reply) throw remoteError(reply.error)
      if ('result' in reply) return reply.result as T
      if ('item' in reply) items.push(reply.item)
      else return items as T
    }
    throw new DaemonClosedError() // exchange() throws first; this keeps the compiler honest
  }

  async * stream <T = unknown> (method: string, params?: unknown, opts: CallOptions = {}): AsyncGenerator<T> {
    for await (const reply of this.exchange(method, params, opts, false)) {
      if ('error' in reply) throw remoteError(reply.error)
      if ('result' in reply) {
        yield reply.result as T
        return
      }
      if ('item' in reply) yield reply.item as T
      else return
    }
  }

  /**
   * Sends the request and yields reply lines until the caller stops (its return closes the
   * socket) or the connection ends, which before a final line is an error. The timeout covers
   * every line when `whole`, else only the first (a followed stream may stay quiet for hours).
   */
  private async * exchange (method: string, params: unknown, opts: CallOptions, whole: boolean): AsyncGenerator<ControlReply> {
    const { signal } = opts
    signal?.throwIfAborted()
    checkSocketPath(this.path)
    const request = encodeLine({ method, params })
    const socket = createConnection({ path: this.path })
    // timeout and abort destroy the socket; the read loop then throws what caused it
    let failure: Error | undefined
    const fail = (err: Error): void => {
      failure ??= err
      socket.destroy()
    }
    const onAbort = (): void => { fail(signal?.reason as Error) }
    signal?.addEventListener('abort', onAbort, { once: true })
    const timeoutMs = opts.timeoutMs ?? DEFAULT_CALL_TIMEOUT_MS
    let timer = timeoutMs > 0 && Number.isFinite(timeoutMs)
      ? setTimeout(() => { fail(new DaemonTimeoutError(timeoutMs)) }, timeoutMs)
      : undefined
    const decoder = new LineDecoder(MAX_REPLY_BYTES)
    try {
      socket.write(request) // buffered until connected; connect errors surface in the loop
      for await (const chunk of socket) {
        for (const line of decoder.push(chunk as Buffer)) {
          if (failure != null) throw failure
          const reply = decodeReply(line)
          if (!whole) {
            clearTimeout(timer)
            timer = undefined
          }
          yield reply
        }
      }
    } catch (err) {
      throw failure ?? this.translate(err)
    } finally {
      clearTimeout(timer)
      signal?.removeEventListener('abort', onAbort)
      socket.destroy()
    }
    throw failure ?? new DaemonClosedError()
  }

  private translate (err: unknown): Error {
    if (isMeshError(err)) return err
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'ENOENT' || code === 'ECONNREFUSED' || code === 'ENOTSOCK') {
      return new NoDaemonError(this.home, { cause: err })
    }
    if (code === 'ECONNRESET' || code === 'EPIPE' || code === 'ERR_STREAM_PREMATURE_CLOSE') {
      return new DaemonClosedError({ cause: err })
    }
    const message = err instanceof Error ? err.message : String(err)
    return new MeshError(`cannot talk to the mesh daemon at ${this.path}: ${message}`, 1, { cause: err })
  }
}

function remoteError (wire: WireError): RemoteError {
  return new RemoteError(wire.name, wire.message, wire.exitCode)
}
