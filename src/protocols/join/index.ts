/**
 * Join: a new machine enrols with a single-use invite.
 *
 *   new node ── {secret, name} ──▶ issuer (holds the authority key)
 *            ◀── {status: 'ok', cert} | {status: 'refused', reason}
 *
 * The secret travels inside the swarm's encrypted transport (the token carries the swarm key); the
 * issuer stores only its hash, accepts it once, and binds the certificate to the connection's peer
 * id, so a stolen answer is useless to anyone else.
 */
import { errorMessage, toError } from '../../errors.js'
import { exchangeWith } from '../exchange.js'
import { frames } from '../frames.js'
import { limitPerPeer } from '../inbound-limit.js'
import { oneLine } from '../peer-text.js'
import type { Logger } from '../../node/logger.js'
import type { Connection, Libp2p, PeerId, Stream } from '@libp2p/interface'

export const JOIN_PROTOCOL = '/mesh/join/1.0.0'
const MAX_BYTES = 32 * 1024
const TIMEOUT_MS = 15_000
const MAX_INBOUND_STREAMS = 8
/** an enrolling node asks once; a few retries at most */
const MAX_STREAMS_PER_PEER = 2

export interface JoinRequest { secret: string, name: string }
export type JoinReply = { status: 'ok', cert: string } | { status: 'refused', reason: string }

/** The issuer's side: the certificate (base64) for `from`, or why not. */
export type JoinHandler = (request: JoinRequest, from: string) => Promise<JoinReply>

export function isJoinRequest (v: unknown): v is JoinRequest {
  const r = v as JoinRequest | null
  return typeof r === 'object' && r !== null && !Array.isArray(r) && typeof r.secret === 'string' && r.secret.length <= 128 &&
    typeof r.name === 'string' && r.name.length <= 128 && Object.keys(r).length === 2
}

export function isJoinReply (v: unknown): v is JoinReply {
  const r = v as { status?: unknown, cert?: unknown, reason?: unknown } | null
  return typeof r === 'object' && r !== null && ((r.status === 'ok' && typeof r.cert === 'string') || (r.status === 'refused' && typeof r.reason === 'string'))
}

export interface JoinComponents {
  node: Pick<Libp2p, 'handle' | 'unhandle'>
  log: Logger
}

/** Serves enrolment on a node that holds invites. */
export function serveJoin (handler: JoinHandler): (c: JoinComponents) => { start: () => Promise<void>, stop: () => Promise<void> } {
  return ({ node, log }) => {
    const onStream = async (stream: Stream, connection: Connection): Promise<void> => {
      const f = frames(stream, MAX_BYTES)
      const from = connection.remotePeer.toString()
      try {
        const req = await f.readJson(isJoinRequest, 'join request', { signal: AbortSignal.timeout(TIMEOUT_MS) })
        const reply = await handler(req, from)
        log.info({ component: 'join', peer: from, status: reply.status, reason: reply.status === 'refused' ? reply.reason : undefined }, 'join request')
        await f.writeJson(reply, { signal: AbortSignal.timeout(TIMEOUT_MS) })
        await stream.close()
      } catch (err) {
        log.warn({ component: 'join', peer: from, reason: errorMessage(err) }, 'join stream failed')
        stream.abort(toError(err))
      }
    }
    let started = false
    return {
      async start () {
        if (started) return
        await node.handle(JOIN_PROTOCOL, limitPerPeer(MAX_STREAMS_PER_PEER, onStream), { maxInboundStreams: MAX_INBOUND_STREAMS })
        started = true
      },
      async stop () {
        if (!started) return
        await node.unhandle(JOIN_PROTOCOL)
        started = false
      }
    }
  }
}

/** The new node's side: asks the issuer at `peer` for a certificate. */
export async function requestJoin (node: Pick<Libp2p, 'dialProtocol'>, peer: PeerId | Parameters<Libp2p['dialProtocol']>[0], request: JoinRequest, signal: AbortSignal): Promise<JoinReply> {
  return exchangeWith(node, peer, JOIN_PROTOCOL, signal, async (stream) => {
    const f = frames(stream, MAX_BYTES)
    await f.writeJson(request, { signal })
    const reply = await f.readJson(isJoinReply, 'join reply', { signal })
    return reply.status === 'refused' ? { status: 'refused', reason: oneLine(reply.reason) } : reply
  })
}
