import { quoted } from '../peer-text.js'
import { SignedTopic } from '../signed-topic.js'
import { createAdvertValidator } from './advert.js'
import {
  CHANGE_CHECK_MS, DEFAULT_HEARTBEAT_INTERVAL_MS, GREET_JITTER_MS, HEARTBEAT_DOMAIN, HEARTBEAT_PAYLOAD_TYPE, HEARTBEAT_TOPIC,
  COALESCE_MS, LEAVE_TIMEOUT_MS, MAX_ADVERT_AGE_MS, MAX_CLOCK_SKEW_MS, MAX_HEARTBEAT_BYTES, MAX_HELD_ADVERTS, RELAY_FRESH_INTERVALS
} from './constants.js'
import type { Advert } from './advert.js'
import type { AdvertBody, Heartbeat, HeartbeatComponents, HeartbeatInit, HeldAdvert } from './index.js'
import type { SubscriptionChangeData } from '@libp2p/gossipsub'
import type { PeerId } from '@libp2p/interface'

export class HeartbeatService implements Heartbeat {
  private readonly components: HeartbeatComponents
  private readonly init: HeartbeatInit
  private readonly intervalMs: number
  private readonly checkMs: number
  private readonly coalesceMs: number
  private readonly greetJitterMs: number
  private readonly now: () => number
  private readonly topic: SignedTopic<Advert>
  private timer?: ReturnType<typeof setInterval>
  private soon?: ReturnType<typeof setTimeout>
  private greeting?: ReturnType<typeof setTimeout>
  private lastSeq = 0
  /** the last body sent (JSON) and when, this node's clock */
  private lastBody?: string
  private lastSentAt = 0
  private readonly cert?: string
  private started = false
  /** the newest gossiped envelope of each peer (and this node's own), with when it was heard, for relaying */
  private readonly latest = new Map<string, { seq: number, heardAt: number, envelope: Uint8Array }>()

  constructor (components: HeartbeatComponents, init: HeartbeatInit) {
    this.components = components
    this.init = init
    this.intervalMs = init.intervalMs ?? DEFAULT_HEARTBEAT_INTERVAL_MS
    this.checkMs = Math.min(this.intervalMs, init.changeCheckMs ?? CHANGE_CHECK_MS)
    this.coalesceMs = init.coalesceMs ?? COALESCE_MS
    this.greetJitterMs = init.greetJitterMs ?? GREET_JITTER_MS
    this.now = init.now ?? Date.now
    const validate = createAdvertValidator()
    this.topic = new SignedTopic<Advert>(components, {
      topic: HEARTBEAT_TOPIC,
      kind: { domain: HEARTBEAT_DOMAIN, payloadType: HEARTBEAT_PAYLOAD_TYPE, maxBytes: MAX_HEARTBEAT_BYTES },
      component: 'heartbeat',
      check: async (payload: unknown, signer: PeerId) => {
        if (!validate(payload)) return validate.lastError()
        if (payload.peerId !== signer.toString()) return `heartbeat signed by ${signer.toString()} claims to be ${quoted(payload.peerId)}`
        const ahead = payload.sentAt - this.now()
        if (ahead > MAX_CLOCK_SKEW_MS) return `heartbeat from ${payload.peerId} is dated ${ahead} ms in the future`
        if (-ahead > MAX_ADVERT_AGE_MS) return `heartbeat from ${payload.peerId} is ${-ahead} ms old (a replay or a skewed clock)`
        return await this.init.authorise?.(payload) ?? null
      },
      onPayload: (advert, _signer, envelope, relayed) => {
        // first-hand adverts only: relaying a relayed one would restart its freshness at every
        // hop, and a dead peer could travel from connection to connection as a ghost
        if (!relayed) this.keep(advert.peerId, advert.seq, envelope)
        this.init.onAdvert(advert)
      }
    })
    this.cert = init.cert
  }

  async start (): Promise<void> {
    if (this.started) return
    this.started = true
    this.topic.start()
    this.components.pubsub.addEventListener('subscription-change', this.onSubscription)
    this.timer = setInterval(() => { void this.tick() }, this.checkMs)
    await this.publishNow()
  }

  async stop (): Promise<void> {
    if (!this.started) return
    this.started = false
    clearInterval(this.timer)
    clearTimeout(this.soon)
    clearTimeout(this.greeting)
    this.soon = this.greeting = undefined
    // best effort goodbye so others mark us offline at once instead of after the timeout
    let timer: ReturnType<typeof setTimeout> | undefined
    await Promise.race([
      this.publish(true),
      new Promise(resolve => { timer = setTimeout(resolve, LEAVE_TIMEOUT_MS) })
    ])
    clearTimeout(timer)
    this.components.pubsub.removeEventListener('subscription-change', this.onSubscription)
    this.topic.stop()
  }

  async publishNow (): Promise<void> {
    if (!this.started) return
    // whatever was scheduled is covered by this advert
    clearTimeout(this.soon)
    clearTimeout(this.greeting)
    this.soon = this.greeting = undefined
    await this.publish(false)
  }

  publishSoon (): void {
    if (!this.started || this.soon != null) return
    this.soon = setTimeout(() => {
      this.soon = undefined
      void this.publishIfChanged()
    }, this.coalesceMs)
  }

  greet (): void {
    if (!this.started || this.greeting != null) return
    this.greeting = setTimeout(() => {
      this.greeting = undefined
      void this.publishNow()
    }, Math.random() * this.greetJitterMs)
  }

  held (): HeldAdvert[] {
    const oldest = this.now() - RELAY_FRESH_INTERVALS * this.intervalMs
    const self = this.components.peerId.toString()
    const out: HeldAdvert[] = []
    for (const [peerId, a] of this.latest) {
      if (peerId !== self && a.heardAt < oldest) this.latest.delete(peerId)
      else out.push({ peerId, seq: a.seq, envelope: a.envelope })
    }
    return out
  }

  async receive (envelope: Uint8Array, from: PeerId): Promise<string | null> {
    return this.topic.receive(envelope, from)
  }

  private keep (peerId: string, seq: number, envelope: Uint8Array): void {
    const held = this.latest.get(peerId)
    if (held != null && held.seq >= seq) return
    if (held == null && this.latest.size >= MAX_HELD_ADVERTS) {
      this.held()
      if (this.latest.size >= MAX_HELD_ADVERTS) return
    }
    this.latest.set(peerId, { seq, heardAt: this.now(), envelope })
  }

  /**
   * A peer that just subscribed (a new connection, or one back after a break) may have missed
   * this node's adverts: the one sent at start goes nowhere while nobody is connected, and others
   * greet only a node whose advert they received. Without this, a node started among others could
   * stay unseen by some of them until its next 15 s refresh.
   */
  private readonly onSubscription = (evt: CustomEvent<SubscriptionChangeData>): void => {
    if (evt.detail.subscriptions.some(s => s.subscribe && s.topic === HEARTBEAT_TOPIC)) this.greet()
  }

  /** Re-send when the body changed or the interval passed; otherwise stay quiet. */
  private async tick (): Promise<void> {
    if (!this.started) return
    if (this.now() - this.lastSentAt >= this.intervalMs) {
      await this.publishNow()
      return
    }
    await this.publishIfChanged()
  }

  /**
   * Most adverts of a busy mesh are capacity changes, and every node verifies and relays every
   * one: a body equal to the last one sent (a task that started and ended inside the window)
   * tells nobody anything.
   */
  private async publishIfChanged (): Promise<void> {
    if (!this.started) return
    const body = this.body()
    if (body != null && JSON.stringify(body) !== this.lastBody) await this.publishNow()
  }

  private body (): AdvertBody | undefined {
    try {
      return this.init.advert()
    } catch (err) {
      this.components.log.warn({ component: 'heartbeat', err }, 'cannot build advert; heartbeat skipped')
      return undefined
    }
  }

  private async publish (leaving: boolean): Promise<void> {
    const sentAt = this.now()
    // clock-based so a restarted daemon's adverts still beat the ones it sent before it stopped
    this.lastSeq = Math.max(this.lastSeq + 1, sentAt)
    const body = this.body()
    if (body == null) return
    this.lastBody = JSON.stringify(body)
    this.lastSentAt = sentAt
    const peerId = this.components.peerId.toString()
    let envelope: Uint8Array
    try {
      envelope = await this.topic.seal({ v: 1, ...body, peerId, seq: this.lastSeq, sentAt, leaving, ...(this.cert != null ? { cert: this.cert } : {}) })
    } catch (err) {
      this.components.log.warn({ component: 'heartbeat', err }, 'cannot sign advert; heartbeat skipped')
      return
    }
    this.keep(peerId, this.lastSeq, envelope)
    await this.topic.publishSealed(envelope)
  }
}
