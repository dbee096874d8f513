/**
 * Cancel: ask the node holding a task (its runner, or its dispatcher while it is queued) to stop it.
 *
 *   client ── {taskId} ──▶ holder ── {status: cancelled | finished | unknown, message} ──▶ client
 */
import { errorMessage, toError } from '../../errors.js'
import { exchangeWith } from '../exchange.js'
import { frames } from '../frames.js'
import { limitPerPeer } from '../inbound-limit.js'
import { PeerGate } from '../peer-gate.js'
import { oneLine } from '../peer-text.js'
import type { Logger } from '../../node/logger.js'
import type { Connection, Libp2p, PeerId, Stream } from '@libp2p/interface'

export const CANCEL_PROTOCOL = '/mesh/cancel/1.0.0'
const MAX_BYTES = 4096
const TIMEOUT_MS = 10_000
const MAX_INBOUND_STREAMS = 16
/** over all of one peer's connections */
const MAX_STREAMS_PER_PEER = 8
/** our requests in flight to one peer; more wait their turn (below its limit, with room for streams still closing) */
const MAX_REQUESTS_PER_PEER = 4

export interface CancelReply { status: 'cancelled' | 'finished' | 'unknown', message: string }

/** The holder's side: stop the task if this node holds it. `from` is the asking peer. */
export type CancelHandler = (taskId: string, from: string) => Promise<CancelReply>

export function isCancelRequest (v: unknown): v is { taskId: string } {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && typeof (v as { taskId?: unknown }).taskId === 'string' &&
    (v as { taskId: string }).taskId.length <= 128 && Object.keys(v).length === 1
}

export function isCancelReply (v: unknown): v is CancelReply {
  const r = v as CancelReply | null
  return typeof r === 'object' && r !== null && ['cancelled', 'finished', 'unknown'].includes(r.status) && typeof r.message === 'string'
}

export interface CancelComponents {
  node: Pick<Libp2p, 'handle' | 'unhandle' | 'dialProtocol'>
  log: Logger
}

export interface Cancel {
  start: () => Promise<void>
  stop: () => Promise<void>
  request: (peer: PeerId, taskId: string, signal?: AbortSignal) => Promise<CancelReply>
}

export function cancel (init: { handler: CancelHandler }): (components: CancelComponents) => Cancel {
  return ({ node, log }) => {
    let started = false
    const gate = new PeerGate(MAX_REQUESTS_PER_PEER)
    const onStream = async (stream: Stream, connection: Connection): Promise<void> => {
      const f = frames(stream, MAX_BYTES)
      try {
        const req = await f.readJson(isCancelRequest, 'cancel request', { signal: AbortSignal.timeout(TIMEOUT_MS) })
        const reply = await init.handler(req.taskId, connection.remotePeer.toString())
        await f.writeJson(reply, { signal: AbortSignal.timeout(TIMEOUT_MS) })
        await stream.close()
      } catch (err) {
        log.debug({ component: 'cancel', peer: connection.remotePeer.toString(), reason: errorMessage(err) }, 'cancel stream failed')
        stream.abort(toError(err))
      }
    }
    return {
      async start () {
        if (started) return
        await node.handle(CANCEL_PROTOCOL, limitPerPeer(MAX_STREAMS_PER_PEER, onStream), { maxInboundStreams: MAX_INBOUND_STREAMS })
        started = true
      },
      async stop () {
        if (!started) return
        await node.unhandle(CANCEL_PROTOCOL)
        started = false
      },
      async request (peer, taskId, signal) {
        const leave = await gate.enter(peer.toString(), signal)
        try {
          // the timeout starts with our turn
          const s = AbortSignal.any([signal ?? new AbortController().signal, AbortSignal.timeout(TIMEOUT_MS)])
          return await exchangeWith(node, peer, CANCEL_PROTOCOL, s, async (stream) => {
            const f = frames(stream, MAX_BYTES)
            await f.writeJson({ taskId }, { signal: s })
            const reply = await f.readJson(isCancelReply, 'cancel reply', { signal: s })
            return { status: reply.status, message: oneLine(reply.message) }
          })
        } finally {
          leave()
        }
      }
    }
  }
}
