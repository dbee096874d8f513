import { toError } from '../errors.js'
import type { Libp2p, Stream } from '@libp2p/interface'

/**
 * The dialler's side of a request/response protocol: dials `protocol`, runs `exchange` over the
 * stream and closes it. On any failure the stream is aborted before the error is rethrown: a stream
 * left open counts against the peer's per-protocol stream limit.
 */
export async function exchangeWith<T> (
  node: Pick<Libp2p, 'dialProtocol'>,
  peer: Parameters<Libp2p['dialProtocol']>[0],
  protocol: string,
  signal: AbortSignal,
  exchange: (stream: Stream) => Promise<T>
): Promise<T> {
  const stream = await node.dialProtocol(peer, protocol, { signal })
  try {
    const result = await exchange(stream)
    await stream.close({ signal })
    return result
  } catch (err) {
    stream.abort(toError(err))
    throw err
  }
}
