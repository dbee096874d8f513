import { MeshError } from '../../errors.js'
import { MAX_SOCKET_PATH_BYTES } from './constants.js'

/** `mesh start` while a daemon already answers on the control socket. */
export class DaemonRunningError extends MeshError {
  constructor (home: string, options?: ErrorOptions) {
    super(`a mesh daemon is already running for ${home}`, 1, options)
    this.name = 'DaemonRunningError'
  }
}

/** The socket path does not fit in sun_path; bind/connect would fail or silently truncate it. */
export class SocketPathTooLongError extends MeshError {
  constructor (path: string, bytes: number, limit: number) {
    super(`control socket path is ${bytes} bytes, over the Unix limit of ${limit}; use a shorter MESH_HOME: ${path}`)
    this.name = 'SocketPathTooLongError'
  }
}

/** Something that is not a socket sits where the control socket belongs; mesh never deletes it. */
export class NotASocketError extends MeshError {
  constructor (path: string) {
    super(`${path} exists and is not a socket; move it away to start the mesh daemon`)
    this.name = 'NotASocketError'
  }
}

/** The request line was not JSON, or not `{"method": string, "params"?: any}`. */
export class BadRequestError extends MeshError {
  constructor (detail: string) {
    super(`malformed control request: ${detail}`)
    this.name = 'BadRequestError'
  }
}

/** Most likely a CLI newer than the running daemon. */
export class UnknownMethodError extends MeshError {
  constructor (method: string) {
    super(`the mesh daemon does not know the method '${method}' (is it older than this CLI?)`)
    this.name = 'UnknownMethodError'
  }
}

/** A line (request on the server, reply on the client) went past its size limit. */
export class LineTooLongError extends MeshError {
  constructor (limit: number) {
    super(`control message larger than ${limit} bytes`)
    this.name = 'LineTooLongError'
  }
}

/** The client connected but did not send a whole request line in time. */
export class RequestTimeoutError extends MeshError {
  constructor (timeoutMs: number) {
    super(`no control request received within ${seconds(timeoutMs)} s`)
    this.name = 'RequestTimeoutError'
  }
}

export class DaemonTimeoutError extends MeshError {
  constructor (timeoutMs: number) {
    super(`the mesh daemon did not answer within ${seconds(timeoutMs)} s`)
    this.name = 'DaemonTimeoutError'
  }
}

/** Sent instead of serving a client past the control socket's limit. */
export class DaemonBusyError extends MeshError {
  constructor (maxClients: number) {
    super(`the mesh daemon is already serving ${maxClients} clients at once (each waiting \`mesh push\` or \`mesh logs -f\` holds one); try again once some have ended, or use \`mesh push --detach\``)
    this.name = 'DaemonBusyError'
  }
}

export class DaemonClosedError extends MeshError {
  constructor (options?: ErrorOptions) {
    super('the mesh daemon closed the connection', 1, options)
    this.name = 'DaemonClosedError'
  }
}

/** The daemon answered with something that is not a reply of this protocol. */
export class BadReplyError extends MeshError {
  constructor (detail: string) {
    super(`the mesh daemon sent a malformed reply: ${detail}`)
    this.name = 'BadReplyError'
  }
}

/**
 * An error reply, rethrown in the CLI. `name` is the daemon-side class name, so callers test
 * `err.name` exactly as they would in-process.
 */
export class RemoteError extends MeshError {
  constructor (name: string, message: string, exitCode: number) {
    super(message, exitCode)
    this.name = name
  }
}

function seconds (ms: number): number {
  return Number((ms / 1000).toFixed(3))
}

/** @throws SocketPathTooLongError */
export function checkSocketPath (path: string): void {
  const bytes = Buffer.byteLength(path)
  if (bytes > MAX_SOCKET_PATH_BYTES) throw new SocketPathTooLongError(path, bytes, MAX_SOCKET_PATH_BYTES)
}
