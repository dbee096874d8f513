import { RateLimiter } from '@libp2p/utils'
import { errorMessage, toError } from '../../errors.js'
import { exchangeWith } from '../exchange.js'
import { frames, ProtocolError } from '../frames.js'
import { limitPerPeer } from '../inbound-limit.js'
import {
  CONNECT_DELAY_MS, EXCHANGE_TIMEOUT_MS, INBOUND_PER_MINUTE, MAX_FRAME_BYTES, MAX_INBOUND_STREAMS, MAX_ROSTER_PEERS, MIN_GAP_MS, ROSTER_PROTOCOL
} from './constants.js'
import { isHave } from './messages.js'
import type { Frames } from '../frames.js'
import type { Roster, RosterComponents, RosterInit, RosterResult } from './index.js'
import type { Connection, PeerId, Stream } from '@libp2p/interface'

/**
 * When to pull and from whom, and both sides of the exchange (see index.ts for the turns). The
 * dialler of every outbound connection pulls once, so one connection costs one exchange; a peer
 * that does not speak the protocol (an older daemon) just refuses the stream.
 */
export class RosterService implements Roster {
  private readonly c: RosterComponents
  private readonly init: RosterInit
  private readonly connectDelayMs: number
  private readonly perMinute: number
  private limiter: RateLimiter
  private controller = new AbortController()
  private started = false
  private readonly scheduled = new Map<string, ReturnType<typeof setTimeout>>()
  /** when the last pull from each peer began: a second trigger soon after is skipped */
  private readonly lastPull = new Map<string, number>()

  constructor (components: RosterComponents, init: RosterInit) {
    this.c = components
    this.init = init
    this.connectDelayMs = init.connectDelayMs ?? CONNECT_DELAY_MS
    this.perMinute = init.inboundPerMinute ?? INBOUND_PER_MINUTE
    this.limiter = new RateLimiter({ points: this.perMinute, duration: 60 })
  }

  async start (): Promise<void> {
    if (this.started) return
    this.controller = new AbortController()
    this.limiter = new RateLimiter({ points: this.perMinute, duration: 60 })
    await this.c.node.handle(ROSTER_PROTOCOL, limitPerPeer(1, this.onStream), { maxInboundStreams: MAX_INBOUND_STREAMS })
    this.c.node.addEventListener('connection:open', this.onConnection)
    this.started = true
    for (const conn of this.c.node.getConnections()) {
      if (conn.direction === 'outbound') this.schedule(conn.remotePeer)
    }
  }

  async stop (): Promise<void> {
    if (!this.started) return
    this.started = false
    this.controller.abort()
    for (const t of this.scheduled.values()) clearTimeout(t)
    this.scheduled.clear()
    this.lastPull.clear()
    this.c.node.removeEventListener('connection:open', this.onConnection)
    await this.c.node.unhandle(ROSTER_PROTOCOL)
  }

  async pull (peer: PeerId, signal?: AbortSignal): Promise<RosterResult> {
    const s = AbortSignal.any([this.controller.signal, AbortSignal.timeout(EXCHANGE_TIMEOUT_MS), ...(signal != null ? [signal] : [])])
    return exchangeWith(this.c.node, peer, ROSTER_PROTOCOL, s, async (stream) => {
      const f = frames(stream, MAX_FRAME_BYTES)
      const held = this.init.held()
      const self = this.c.node.peerId.toString()
      await f.writeBytes(held.find(a => a.peerId === self)?.envelope ?? new Uint8Array(0), { signal: s })
      await f.writeJson({ v: 1, have: held.slice(0, MAX_ROSTER_PEERS).map(a => [a.peerId, a.seq]) }, { signal: s })
      const result: RosterResult = { received: 0, accepted: 0 }
      for (;;) {
        const envelope = await f.readBytes({ signal: s }, 'roster advert')
        if (envelope.byteLength === 0) break
        if (++result.received > MAX_ROSTER_PEERS) throw new ProtocolError(`roster: more than ${MAX_ROSTER_PEERS} adverts`)
        if (await this.init.receive(envelope, peer) == null) result.accepted++
      }
      return result
    })
  }

  private readonly onStream = async (stream: Stream, connection: Connection): Promise<void> => {
    const peer = connection.remotePeer
    const id = peer.toString()
    const signal = AbortSignal.any([this.controller.signal, AbortSignal.timeout(EXCHANGE_TIMEOUT_MS)])
    try {
      try {
        this.limiter.consume(id)
      } catch {
        // not a warning each time: a looping peer would fill the log
        throw new Error(`more than ${this.perMinute} roster exchanges a minute`)
      }
      await this.serve(frames(stream, MAX_FRAME_BYTES), peer, signal)
      await stream.close({ signal })
    } catch (err) {
      const level = err instanceof ProtocolError || err instanceof RefusedError ? 'warn' : 'debug'
      this.c.log[level]({ component: 'roster', peer: id, reason: errorMessage(err) }, 'roster exchange with peer failed')
      stream.abort(toError(err))
    }
  }

  /** The listener's turns: the dialler's own advert, its `have` list, then the peers it lacks and an end frame. */
  private async serve (f: Frames, peer: PeerId, signal: AbortSignal): Promise<void> {
    const own = await f.readBytes({ signal }, 'roster own advert')
    if (own.byteLength > 0) {
      const refused = await this.init.receive(own, peer)
      if (refused != null) throw new RefusedError(`its own advert was refused: ${refused}`)
    }
    const outsider = this.init.authorise?.(peer.toString()) ?? null
    if (outsider != null) throw new RefusedError(`not a member: ${outsider}`)
    const { have } = await f.readJson(isHave, 'roster have', { signal })
    // peers the dialler lacks, not newer adverts of ones it holds: those come by gossip, and in a
    // mass start every greeting bumps every node's seq, so "newer" meant nearly all, on every connection
    const known = new Set(have.map(([peerId]) => peerId))
    const id = peer.toString()
    let sent = 0
    for (const a of this.init.held()) {
      if (a.peerId === id || known.has(a.peerId)) continue
      if (sent++ >= MAX_ROSTER_PEERS) break
      await f.writeBytes(a.envelope, { signal })
    }
    await f.writeBytes(new Uint8Array(0), { signal })
  }

  private readonly onConnection = (evt: CustomEvent<Connection>): void => {
    // the dialler pulls: one exchange per connection, not two
    if (evt.detail.direction === 'outbound') this.schedule(evt.detail.remotePeer)
  }

  private schedule (peer: PeerId): void {
    const id = peer.toString()
    if (!this.started || this.scheduled.has(id)) return
    const timer = setTimeout(() => {
      this.scheduled.delete(id)
      if (Date.now() - (this.lastPull.get(id) ?? 0) < MIN_GAP_MS) return
      if (this.lastPull.size > 1000) this.lastPull.clear()
      this.lastPull.set(id, Date.now())
      void this.pull(peer).then(
        r => { this.c.log.debug({ component: 'roster', peer: id, ...r }, 'pulled the roster of peer') },
        (err: unknown) => { if (this.started) this.c.log.debug({ component: 'roster', peer: id, reason: errorMessage(err) }, 'roster pull from peer failed') }
      )
    }, this.connectDelayMs * (0.5 + Math.random()))
    timer.unref()
    this.scheduled.set(id, timer)
  }
}

/** the listener refused the exchange (rate, membership, a refused advert): worth a warning line */
class RefusedError extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'RosterRefusedError'
  }
}
