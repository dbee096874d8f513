/** A request is one small JSON object; anything near this size is a bug or a hostile client. */
export const DEFAULT_MAX_REQUEST_BYTES = 1024 * 1024

/**
 * Clients connected at once; past it a new one is told so in one line and closed. Each `logs -f` or
 * waiting `push` holds one, so a job array of a few hundred waiting pushes must fit (128 did not);
 * the bound keeps a runaway script from exhausting file descriptors.
 */
export const DEFAULT_MAX_CLIENTS = 1024

/** A connected client that has not sent its request line by then is dropped. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 5_000

/**
 * One reply line (a result or one streamed item). Larger than a request: a `peers` listing of a
 * big mesh is legitimately a few MiB. Guards the CLI against a runaway daemon.
 */
export const MAX_REPLY_BYTES = 64 * 1024 * 1024

/** How long `call()` waits for the whole reply, and `stream()` for its first line. */
export const DEFAULT_CALL_TIMEOUT_MS = 30_000

/** How long the server waits, after its last reply line, for the client to hang up. */
export const LINGER_MS = 5_000

/** The socket file is private to the user who owns MESH_HOME. */
export const SOCKET_MODE = 0o600

/**
 * Longest Unix socket path in bytes: sun_path is 108 bytes on Linux and 104 on macOS/BSD, NUL
 * included. Node does not always report an overlong path, so mesh checks it itself.
 */
export const MAX_SOCKET_PATH_BYTES = process.platform === 'linux' ? 107 : 103
