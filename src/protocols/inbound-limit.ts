/**
 * Concurrent inbound streams of one protocol per remote peer. libp2p's `maxInboundStreams` counts
 * per connection, and a peer may hold several connections: this bound holds whatever the number
 * of connections, so one peer cannot take every handler slot (and the memory each holds).
 */
export interface InboundLimit {
  /** a release function when `peer` is under its limit, else undefined (refuse the stream) */
  acquire: (peer: string) => (() => void) | undefined
  /** streams held now, all peers together */
  readonly active: number
}

export function inboundLimit (maxPerPeer: number): InboundLimit {
  const held = new Map<string, number>()
  let active = 0
  return {
    acquire (peer) {
      const n = held.get(peer) ?? 0
      if (n >= maxPerPeer) return undefined
      held.set(peer, n + 1)
      active++
      let released = false
      return () => {
        if (released) return
        released = true
        active--
        const left = (held.get(peer) ?? 1) - 1
        // no entry per peer once it holds nothing: the map stays as small as the live streams
        if (left <= 0) held.delete(peer)
        else held.set(peer, left)
      }
    },
    get active () { return active }
  }
}

/** Wraps a stream handler: past `maxPerPeer` concurrent streams from one peer, the stream is reset at once. */
export function limitPerPeer<S extends { abort: (err: Error) => void }, C extends { remotePeer: { toString: () => string } }> (
  maxPerPeer: number, handler: (stream: S, connection: C) => Promise<void>, limit: InboundLimit = inboundLimit(maxPerPeer)
): (stream: S, connection: C) => Promise<void> {
  return async (stream, connection) => {
    const release = limit.acquire(connection.remotePeer.toString())
    if (release == null) {
      stream.abort(new Error(`more than ${maxPerPeer} concurrent streams from this peer`))
      return
    }
    try {
      await handler(stream, connection)
    } finally {
      release()
    }
  }
}
