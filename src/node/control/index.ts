/**
 * The control socket: how the `mesh` CLI talks to its own daemon. A Unix socket inside MESH_HOME,
 * mode 0600; only the daemon speaks libp2p. Newline-delimited JSON, one request per connection:
 *
 *   CLI                                             daemon
 *    │ {"method":"peers","params":{...}}\n  ──────▶  handlers.peers(params, { signal })
 *    │                                               │ returns a Promise:
 *    │ ◀──────  {"result":...}\n                     │
 *    │                                               │ returns an AsyncIterable:
 *    │ ◀──────  {"item":...}\n  (×n)                 │
 *    │ ◀──────  {"end":true}\n                       │
 *    │                                               │ throws:
 *    │ ◀──────  {"error":{"name","message","exitCode"}}\n
 *    └ closes ──────────────────────────────────▶  ctx.signal aborted
 *
 * `call()` on a streaming method collects the items into an array; `stream()` on a promise method
 * yields its single result. A MeshError thrown by a handler reaches the CLI with its name, message
 * and exit code; anything else is logged with its stack and becomes `InternalError`.
 *
 * The server bounds every request (size, and a deadline to receive the line) and survives any
 * client: garbage, half lines, hang-ups mid-stream, slow readers (it waits for 'drain').
 * Handlers must honour `ctx.signal`, aborted when the client hangs up or the server stops.
 */
import { ControlSocketClient } from './client.js'
import { ControlSocketServer } from './server.js'
import type { Logger } from '../logger.js'

export type { ControlRequest, ControlReply, WireError } from './codec.js'
export {
  DaemonRunningError, SocketPathTooLongError, NotASocketError, BadRequestError, UnknownMethodError,
  LineTooLongError, RequestTimeoutError, DaemonTimeoutError, DaemonClosedError, BadReplyError, RemoteError
} from './errors.js'

export interface ControlContext {
  /** aborted when the client disconnects or the server stops */
  signal: AbortSignal
}

/** Return a Promise for one result, or an AsyncIterable to stream items. */
export type ControlHandler = (params: unknown, ctx: ControlContext) => Promise<unknown> | AsyncIterable<unknown>

export interface ControlServerInit {
  /** the socket file; its directory must exist */
  path: string
  handlers: Record<string, ControlHandler>
  log?: Logger
  /** largest request line accepted (default 1 MiB) */
  maxRequestBytes?: number
  /** how long a client has to send its request line (default 5 s) */
  requestTimeoutMs?: number
  /** clients connected at once; more are closed on connect (default 128) */
  maxClients?: number
  /** named in DaemonRunningError; defaults to the socket's directory */
  home?: string
}

export interface ControlServer {
  /** @throws DaemonRunningError when a daemon already answers on `path` (a dead one's file is replaced) */
  start: () => Promise<void>
  /** closes the listener, aborts running handlers, drops clients and removes the socket file */
  stop: () => Promise<void>
  readonly path: string
}

export function createControlServer (init: ControlServerInit): ControlServer {
  return new ControlSocketServer(init)
}

export interface CallOptions {
  signal?: AbortSignal
  /** `call()`: the whole reply; `stream()`: its first line. Default 30 s; 0 or Infinity: none. */
  timeoutMs?: number
}

export interface ControlClient {
  /**
   * @throws NoDaemonError (exit 4) when nothing listens; a MeshError named after the daemon-side
   * error for an error reply; DaemonTimeoutError; DaemonClosedError; `signal.reason` on abort
   */
  call: <T = unknown>(method: string, params?: unknown, opts?: CallOptions) => Promise<T>
  /** Same errors as `call()`. Leaving the loop early closes the connection. */
  stream: <T = unknown>(method: string, params?: unknown, opts?: CallOptions) => AsyncIterable<T>
}

export interface ControlClientInit {
  path: string
  /** MESH_HOME, named in NoDaemonError */
  home: string
}

export function createControlClient (init: ControlClientInit): ControlClient {
  return new ControlSocketClient(init)
}
