import { createConnection, createServer } from 'node:net'
import { chmod, lstat, mkdtemp, rename, rm, unlink } from 'node:fs/promises'
import { once } from 'node:events'
import { dirname, join } from 'node:path'
import { MeshError, isMeshError } from '../../errors.js'
import { LineDecoder, decodeRequest, encodeLine } from './codec.js'
import {
  DEFAULT_MAX_CLIENTS, DEFAULT_MAX_REQUEST_BYTES, DEFAULT_REQUEST_TIMEOUT_MS, LINGER_MS, MAX_SOCKET_PATH_BYTES, SOCKET_MODE
} from './constants.js'
import {
  DaemonBusyError, DaemonRunningError, NotASocketError, RequestTimeoutError, UnknownMethodError, checkSocketPath
} from './errors.js'
import type { ControlReply, WireError } from './codec.js'
import type { ControlHandler, ControlServer, ControlServerInit } from './index.js'
import type { Logger } from '../logger.js'
import type { Server, Socket } from 'node:net'

export class ControlSocketServer implements ControlServer {
  readonly path: string
  private readonly home: string
  private readonly handlers: Record<string, ControlHandler>
  private readonly log: Logger | undefined
  private readonly maxRequestBytes: number
  private readonly requestTimeoutMs: number
  private readonly maxClients: number
  /** connections past maxClients being told so */
  private readonly refused = new Set<Socket>()
  private server: Server | undefined
  /** the socket file we own; stop() leaves a file another daemon put there alone */
  private ino: number | undefined
  private starting: Promise<void> | undefined
  private stopping: Promise<void> | undefined
  private readonly connections = new Map<Socket, AbortController>()

  constructor (init: ControlServerInit) {
    this.path = init.path
    this.home = init.home ?? dirname(init.path)
    this.handlers = init.handlers
    this.log = init.log?.child({ component: 'control' })
    this.maxRequestBytes = init.maxRequestBytes ?? DEFAULT_MAX_REQUEST_BYTES
    this.requestTimeoutMs = init.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS
    this.maxClients = init.maxClients ?? DEFAULT_MAX_CLIENTS
  }

  async start (): Promise<void> {
    await this.stopping
    if (this.server != null) return
    this.starting ??= this.listen().finally(() => { this.starting = undefined })
    await this.starting
  }

  async stop (): Promise<void> {
    await this.starting?.catch(() => {})
    this.stopping ??= this.close().finally(() => { this.stopping = undefined })
    await this.stopping
  }

  private async listen (): Promise<void> {
    checkSocketPath(this.path)
    await clearStaleSocket(this.path, this.home)
    // Bind inside a fresh 0700 directory, chmod, then rename into place: no other user can
    // connect before the socket is 0600, whatever the umask (process.umask is process-global).
    // When that detour would not fit in sun_path, bind in place: connections are refused until
    // the chmod is done, and the 0700 MESH_HOME covers the short window.
    const dir = dirname(this.path)
    const tmpDir = Buffer.byteLength(join(dir, '.cXXXXXX', 's')) <= MAX_SOCKET_PATH_BYTES
      ? await mkdtemp(join(dir, '.c')).catch((err: Error) => { throw this.createError(err) })
      : undefined
    const bindPath = tmpDir == null ? this.path : join(tmpDir, 's')
    const server = createServer({ allowHalfOpen: false }, (socket) => { this.accept(socket) })
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject)
        server.listen(bindPath, () => { server.off('error', reject); resolve() })
      })
      await chmod(bindPath, SOCKET_MODE)
      if (tmpDir != null) await rename(bindPath, this.path)
      this.ino = (await lstat(this.path)).ino
    } catch (err) {
      server.close()
      throw this.createError(err as Error)
    } finally {
      if (tmpDir != null) await rm(tmpDir, { recursive: true, force: true })
    }
    server.on('error', (err) => this.log?.error({ err }, 'control socket error'))
    this.server = server
    this.log?.debug({ path: this.path }, 'control socket listening')
  }

  private createError (err: Error): MeshError {
    return new MeshError(`cannot create the control socket ${this.path}: ${err.message}`, 1, { cause: err })
  }

  private async close (): Promise<void> {
    const server = this.server
    if (server == null) return
    this.server = undefined
    for (const [socket, controller] of this.connections) {
      controller.abort()
      socket.destroy()
    }
    this.connections.clear()
    for (const socket of this.refused) socket.destroy()
    await new Promise<void>((resolve) => server.close(() => { resolve() }))
    await unlinkIfSame(this.path, this.ino)
    this.ino = undefined
  }

  private accept (socket: Socket): void {
    if (this.server == null) {
      socket.destroy()
      return
    }
    if (this.connections.size >= this.maxClients) {
      this.refuse(socket)
      return
    }
    const controller = new AbortController()
    this.connections.set(socket, controller)
    // Resets and broken pipes from clients that went away are routine, not server errors.
    socket.on('error', (err) => this.log?.debug({ err }, 'control client error'))
    socket.once('close', () => {
      controller.abort()
      this.connections.delete(socket)
    })
    this.serve(socket, controller.signal).catch((err: unknown) => {
      this.log?.error({ err }, 'control connection failed')
      socket.destroy()
    })
  }

  /**
   * Past the client limit the caller gets one line saying so (a bare close read as "the daemon
   * closed the connection", which sent users looking for a crash). Refusals are bounded too: past
   * as many again, a connection is dropped unanswered.
   */
  private refuse (socket: Socket): void {
    if (this.refused.size >= this.maxClients) {
      socket.destroy()
      return
    }
    this.refused.add(socket)
    const controller = new AbortController()
    socket.on('error', () => {})
    socket.once('close', () => {
      this.refused.delete(socket)
      controller.abort()
    })
    const busy = new DaemonBusyError(this.maxClients)
    void this.finish(socket, { error: { name: busy.name, message: busy.message, exitCode: busy.exitCode } }, controller.signal).catch(() => { socket.destroy() })
  }

  private async serve (socket: Socket, signal: AbortSignal): Promise<void> {
    let line: string | undefined
    try {
      line = await readRequestLine(socket, this.maxRequestBytes, this.requestTimeoutMs)
    } catch (err) {
      await this.finish(socket, { error: this.wireError(err) }, signal)
      return
    }
    if (line == null) return // the client hung up before asking anything

    let reply: ControlReply
    let method: string | undefined
    try {
      const request = decodeRequest(line)
      method = request.method
      if (!Object.hasOwn(this.handlers, method)) throw new UnknownMethodError(method)
      const handler = this.handlers[method] as ControlHandler
      const output = handler(request.params, { signal })
      if (isAsyncIterable(output)) {
        for await (const item of output) {
          // returning ends the for-await, which runs the handler's finally blocks
          if (!await send(socket, { item }, signal)) return
        }
        reply = { end: true }
      } else {
        reply = { result: (await output) ?? null }
      }
    } catch (err) {
      if (signal.aborted) return // the client left or we are stopping: nobody to tell
      reply = { error: this.wireError(err, method) }
    }
    await this.finish(socket, reply, signal)
  }

  /** Sends the last line, half-closes, and drops a client that does not hang up in time. */
  private async finish (socket: Socket, reply: ControlReply, signal: AbortSignal): Promise<void> {
    let sent: boolean
    try {
      sent = await send(socket, reply, signal)
    } catch (err) {
      // the result would not serialise (BigInt, cycle): a handler bug
      sent = await send(socket, { error: this.wireError(err) }, signal)
    }
    if (!sent) return
    socket.end()
    const timer = setTimeout(() => socket.destroy(), LINGER_MS)
    timer.unref()
    socket.once('close', () => { clearTimeout(timer) })
  }

  private wireError (err: unknown, method?: string): WireError {
    if (isMeshError(err)) return { name: err.name, message: err.message, exitCode: err.exitCode }
    this.log?.error({ err, method }, 'control handler failed')
    const message = err instanceof Error ? err.message : String(err)
    return { name: 'InternalError', message: `internal error: ${message}`, exitCode: 1 }
  }
}

/**
 * Resolves with the first non-blank line, or undefined when the client hangs up first; rejects
 * with LineTooLongError or RequestTimeoutError. Bytes after that line are ignored, but the socket
 * keeps flowing so a hang-up is noticed (and the handler's signal aborted) while it runs.
 */
function readRequestLine (socket: Socket, maxBytes: number, timeoutMs: number): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const decoder = new LineDecoder(maxBytes)
    const done = (): void => {
      clearTimeout(timer)
      socket.off('data', onData)
      socket.off('end', onEnd)
      socket.off('close', onEnd)
      socket.on('data', () => {})
    }
    const onData = (chunk: Buffer): void => {
      let line: string | undefined
      try {
        line = decoder.push(chunk)[0]
      } catch (err) {
        fail(err as Error) // LineTooLongError
        return
      }
      if (line == null) return
      done()
      resolve(line)
    }
    const onEnd = (): void => {
      done()
      resolve(undefined)
    }
    const fail = (err: Error): void => {
      done()
      reject(err)
    }
    const timer = setTimeout(() => { fail(new RequestTimeoutError(timeoutMs)) }, timeoutMs)
    socket.on('data', onData)
    socket.once('end', onEnd)
    socket.once('close', onEnd)
  })
}

/** Writes one line, waiting for 'drain' when the client reads slowly; false once it is gone. */
async function send (socket: Socket, reply: ControlReply, signal: AbortSignal): Promise<boolean> {
  const line = encodeLine(reply)
  if (signal.aborted || !socket.writable) return false
  if (socket.write(line)) return true
  try {
    await once(socket, 'drain', { signal })
    return true
  } catch {
    return false
  }
}

function isAsyncIterable (value: unknown): value is AsyncIterable<unknown> {
  return typeof value === 'object' && value !== null && Symbol.asyncIterator in value
}

/**
 * A socket file left at `path`: if a daemon answers, refuse; if nothing listens (a crashed
 * daemon), remove it. Two daemons starting at once in one home can still race here; the daemon's
 * own lock on MESH_HOME, not the socket, is what serialises them.
 */
async function clearStaleSocket (path: string, home: string): Promise<void> {
  const stats = await lstat(path).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined
    throw err
  })
  if (stats == null) return
  if (!stats.isSocket()) throw new NotASocketError(path)
  if (await answers(path)) throw new DaemonRunningError(home)
  await unlink(path).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOENT') throw err
  })
}

function answers (path: string): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const probe = createConnection({ path })
    probe.once('connect', () => {
      probe.destroy()
      resolve(true)
    })
    probe.once('error', (err: NodeJS.ErrnoException) => {
      probe.destroy()
      if (err.code === 'ECONNREFUSED' || err.code === 'ENOENT') resolve(false)
      // a full backlog still means a live daemon
      else if (err.code === 'EAGAIN') resolve(true)
      else reject(new MeshError(`cannot check the control socket ${path}: ${err.message}`, 1, { cause: err }))
    })
  })
}

async function unlinkIfSame (path: string, ino: number | undefined): Promise<void> {
  try {
    if ((await lstat(path)).ino === ino) await unlink(path)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
  }
}
