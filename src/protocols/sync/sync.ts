import { peerIdFromString } from '@libp2p/peer-id'
import { RateLimiter } from '@libp2p/utils'
import { errorMessage, toError } from '../../errors.js'
import { exchangeWith } from '../exchange.js'
import { frames, ProtocolError } from '../frames.js'
import {
  CONNECT_DELAY_MS, CONNECT_TRIES, MIN_GAP_MS, FOLLOW_UP_DELAY_MS, INBOUND_PER_MINUTE, JITTER, MAX_FRAME_BYTES, MAX_INBOUND_SESSIONS,
  MAX_INBOUND_STREAMS, SESSION_TIMEOUT_MS, SYNC_INTERVAL_MS, SYNC_PROTOCOL
} from './constants.js'
import { digest } from './digest.js'
import { Session } from './session.js'
import type { Digest } from './digest.js'
import type { Sync, SyncComponents, SyncInit, SyncResult } from './index.js'
import type { Connection, PeerId, Stream } from '@libp2p/interface'

export class SyncRefusedError extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'SyncRefusedError'
  }
}

/**
 * When to sync and with whom; the exchange itself is a Session. Triggers: every outbound connection
 * (the dialler starts, so one connection costs one session), the peers already connected at start,
 * a timer picking one random peer, and a follow-up when a session was cut short by its bounds.
 * Inbound sessions are refused before any work when the peer is not a member, already has one
 * running, or exceeds its rate.
 */
export class SyncService implements Sync {
  private readonly c: SyncComponents
  private readonly init: SyncInit
  private readonly intervalMs: number
  private readonly connectDelayMs: number
  private readonly perMinute: number
  private limiter: RateLimiter
  private controller = new AbortController()
  private started = false
  private timer?: ReturnType<typeof setTimeout>
  private readonly scheduled = new Map<string, ReturnType<typeof setTimeout>>()
  private readonly outbound = new Set<string>()
  private readonly inbound = new Set<string>()
  /** when a refusal of each peer was last logged: a looping peer gets one line a minute */
  private readonly refusalLogged = new Map<string, number>()
  /** when the last session with each peer ended, either direction: two triggers at once make one session */
  private readonly lastSession = new Map<string, number>()
  private cache?: { rev: number, digest: Digest }

  constructor (components: SyncComponents, init: SyncInit) {
    this.c = components
    this.init = init
    this.intervalMs = init.intervalMs ?? SYNC_INTERVAL_MS
    this.connectDelayMs = init.connectDelayMs ?? CONNECT_DELAY_MS
    this.perMinute = init.inboundPerMinute ?? INBOUND_PER_MINUTE
    this.limiter = new RateLimiter({ points: this.perMinute, duration: 60 })
  }

  async start (): Promise<void> {
    if (this.started) return
    this.controller = new AbortController()
    this.limiter = new RateLimiter({ points: this.perMinute, duration: 60 })
    await this.c.node.handle(SYNC_PROTOCOL, this.onStream, { maxInboundStreams: MAX_INBOUND_STREAMS })
    this.c.node.addEventListener('connection:open', this.onConnection)
    this.started = true
    // connections libp2p opened before this service started (bootstrap, remembered peers)
    for (const conn of this.c.node.getConnections()) this.schedule(conn.remotePeer, this.connectDelay(), CONNECT_TRIES)
    this.tick()
  }

  async stop (): Promise<void> {
    if (!this.started) return
    this.started = false
    this.controller.abort()
    clearTimeout(this.timer)
    for (const t of this.scheduled.values()) clearTimeout(t)
    this.scheduled.clear()
    this.lastSession.clear()
    this.c.node.removeEventListener('connection:open', this.onConnection)
    await this.c.node.unhandle(SYNC_PROTOCOL)
  }

  soon (peer: string): void {
    this.schedule(peerIdFromString(peer), this.connectDelay(), CONNECT_TRIES)
  }

  async syncWith (peer: PeerId, signal?: AbortSignal): Promise<SyncResult> {
    const id = peer.toString()
    const refused = this.init.authorise?.(id) ?? null
    if (refused != null) throw new SyncRefusedError(`not syncing with ${id}: ${refused}`)
    const s = AbortSignal.any([this.controller.signal, AbortSignal.timeout(SESSION_TIMEOUT_MS), ...(signal != null ? [signal] : [])])
    const result = await exchangeWith(this.c.node, peer, SYNC_PROTOCOL, s, async stream => this.session(stream, id, s).initiate())
    this.done(peer, result)
    return result
  }

  private readonly onStream = async (stream: Stream, connection: Connection): Promise<void> => {
    const peer = connection.remotePeer
    const id = peer.toString()
    const refused = this.admit(id)
    if (refused != null) {
      this.logRefusal(id, refused)
      stream.abort(new SyncRefusedError(refused))
      return
    }
    this.inbound.add(id)
    const signal = AbortSignal.any([this.controller.signal, AbortSignal.timeout(SESSION_TIMEOUT_MS)])
    try {
      const result = await this.session(stream, id, signal).respond()
      await stream.close({ signal })
      this.done(peer, result)
    } catch (err) {
      this.failed(id, err)
      stream.abort(toError(err))
    } finally {
      this.inbound.delete(id)
    }
  }

  /** Why an inbound session is refused before any work, or null. */
  private admit (peer: string): string | null {
    const outsider = this.init.authorise?.(peer) ?? null
    if (outsider != null) return `not a member: ${outsider}`
    if (this.inbound.has(peer)) return 'a sync session with this peer is already running'
    if (this.inbound.size >= MAX_INBOUND_SESSIONS) return `${MAX_INBOUND_SESSIONS} sync sessions already running`
    try {
      this.limiter.consume(peer)
    } catch {
      return `more than ${this.perMinute} sync sessions a minute`
    }
    return null
  }

  private session (stream: Stream, peer: string, signal: AbortSignal): Session {
    return new Session({
      f: frames(stream, MAX_FRAME_BYTES),
      peer,
      store: this.init.store,
      digest: () => this.digest(),
      check: this.init.check,
      ...(this.init.revocations != null ? { revocations: this.init.revocations } : {}),
      log: this.c.log,
      signal
    })
  }

  /** Recomputed only when the store changed since the last session. */
  private digest (): Digest {
    const rev = this.init.store.revision()
    if (this.cache?.rev !== rev) this.cache = { rev, digest: digest(this.init.store.versions()) }
    return this.cache.digest
  }

  private done (peer: PeerId, r: SyncResult): void {
    if (this.lastSession.size > 1000) this.lastSession.clear()
    this.lastSession.set(peer.toString(), Date.now())
    const moved = r.accepted > 0 || r.sent > 0 || r.revocations != null
    this.c.log[moved ? 'info' : 'debug']({ component: 'sync', peer: peer.toString(), ...r }, moved ? 'synced task records with peer' : 'in sync with peer')
    // only when this session made progress, so a peer that cannot deliver causes no loop
    if (r.more && r.accepted > 0) this.schedule(peer, FOLLOW_UP_DELAY_MS, 1)
  }

  private failed (peer: string, err: unknown): void {
    const level = err instanceof ProtocolError ? 'warn' : 'debug'
    this.c.log[level]({ component: 'sync', peer, reason: errorMessage(err) }, 'sync session with peer failed')
  }

  private logRefusal (peer: string, reason: string): void {
    const last = this.refusalLogged.get(peer) ?? 0
    const now = Date.now()
    if (this.refusalLogged.size > 1000) this.refusalLogged.clear()
    this.refusalLogged.set(peer, now)
    this.c.log[now - last > 60_000 ? 'warn' : 'debug']({ component: 'sync', peer, reason }, 'refused a sync session')
  }

  private readonly onConnection = (evt: CustomEvent<Connection>): void => {
    // the dialler starts the session: one per connection, not two
    if (evt.detail.direction === 'outbound') this.schedule(evt.detail.remotePeer, this.connectDelay(), CONNECT_TRIES)
  }

  /**
   * One outbound session with `peer` after `delayMs`. While the peer is not known as a member (its
   * first heartbeat, which carries its certificate, may still be on its way) it tries again later.
   */
  private schedule (peer: PeerId, delayMs: number, tries: number): void {
    const id = peer.toString()
    if (!this.started || this.scheduled.has(id)) return
    const timer = setTimeout(() => {
      this.scheduled.delete(id)
      if (this.init.authorise?.(id) != null) {
        if (tries > 1) this.schedule(peer, delayMs * 2, tries - 1)
        return
      }
      if (Date.now() - (this.lastSession.get(id) ?? 0) < MIN_GAP_MS) return
      void this.run(peer)
    }, delayMs)
    timer.unref()
    this.scheduled.set(id, timer)
  }

  private async run (peer: PeerId): Promise<void> {
    const id = peer.toString()
    if (this.outbound.has(id)) return
    this.outbound.add(id)
    try {
      await this.syncWith(peer)
    } catch (err) {
      if (this.started) this.failed(id, err)
    } finally {
      this.outbound.delete(id)
    }
  }

  /** Every interval (jittered, so nodes spread out): one random connected member. */
  private tick (): void {
    const every = this.intervalMs * (1 - JITTER + Math.random() * 2 * JITTER)
    this.timer = setTimeout(() => {
      const peers = new Map(this.c.node.getConnections().map(c => [c.remotePeer.toString(), c.remotePeer]))
      const members = [...peers.values()].filter(p => this.init.authorise?.(p.toString()) == null)
      const peer = members[Math.floor(Math.random() * members.length)]
      if (peer != null) void this.run(peer)
      if (this.started) this.tick()
    }, every)
    this.timer.unref()
  }

  private connectDelay (): number {
    return this.connectDelayMs * (0.5 + Math.random())
  }
}
