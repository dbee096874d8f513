import { TopicValidatorResult } from '@libp2p/gossipsub'
import { errorMessage } from '../errors.js'
import { openJson, sealJson } from './envelope/index.js'
import type { RecordKind } from './envelope/index.js'
import type { Logger } from '../node/logger.js'
import type { GossipSub, Message } from '@libp2p/gossipsub'
import type { PeerId, PrivateKey } from '@libp2p/interface'

export type TopicPubSub = Pick<GossipSub, 'subscribe' | 'unsubscribe' | 'publish' | 'topicValidators' | 'addEventListener' | 'removeEventListener'>

export interface SignedTopicComponents {
  privateKey: PrivateKey
  pubsub: TopicPubSub
  log: Logger
}

export interface SignedTopicInit<T> {
  topic: string
  kind: RecordKind
  /** name used in log lines */
  component: string
  /** schema and authorisation check; returns why the payload is refused, or null to accept */
  check: (payload: unknown, signer: PeerId) => string | null | Promise<string | null>
  /**
   * called once per valid message from another node, with the envelope bytes it came in (to keep
   * and relay); `relayed` when it came through `receive` rather than gossip
   */
  onPayload: (payload: T, signer: PeerId, envelope: Uint8Array, relayed: boolean) => void
}

/**
 * A gossip topic whose every message is a signed envelope. Gossipsub itself signs nothing
 * (StrictNoSign): the envelope names and proves its author wherever it was relayed from, so a relay
 * cannot forge it. The topic validator opens the envelope and applies the caller's check; gossipsub
 * drops and stops relaying anything rejected.
 */
export class SignedTopic<T> {
  private readonly components: SignedTopicComponents
  private readonly init: SignedTopicInit<T>
  /** payloads accepted by the validator, handed to the message listener */
  private readonly accepted = new WeakMap<Message, { payload: T, signer: PeerId, envelope: Uint8Array }>()
  /** last refusal logged per peer: a refused peer repeats itself every heartbeat */
  private readonly refusals = new Map<string, string>()
  private started = false

  constructor (components: SignedTopicComponents, init: SignedTopicInit<T>) {
    this.components = components
    this.init = init
  }

  start (): void {
    if (this.started) return
    this.started = true
    const { pubsub } = this.components
    pubsub.topicValidators.set(this.init.topic, this.validator)
    pubsub.addEventListener('message', this.onMessage)
    pubsub.subscribe(this.init.topic)
  }

  stop (): void {
    if (!this.started) return
    this.started = false
    const { pubsub } = this.components
    pubsub.unsubscribe(this.init.topic)
    pubsub.removeEventListener('message', this.onMessage)
    pubsub.topicValidators.delete(this.init.topic)
  }

  /** Seals and publishes; a failure is logged, not thrown (gossip is best effort). */
  async publish (payload: T): Promise<boolean> {
    let bytes: Uint8Array
    try {
      bytes = await this.seal(payload)
    } catch (err) {
      this.components.log.warn({ component: this.init.component, err }, 'publish failed')
      return false
    }
    return this.publishSealed(bytes)
  }

  /** The signed envelope of `payload`, as it goes on the wire (callers keep it to relay it later). */
  async seal (payload: T): Promise<Uint8Array> {
    return sealJson(this.init.kind, payload, this.components.privateKey)
  }

  /** Publishes an envelope made by `seal`; a failure is logged, not thrown. */
  async publishSealed (bytes: Uint8Array): Promise<boolean> {
    try {
      await this.components.pubsub.publish(this.init.topic, bytes)
      return true
    } catch (err) {
      this.components.log.warn({ component: this.init.component, err }, 'publish failed')
      return false
    }
  }

  /**
   * An envelope that came another way than gossip (a peer relaying what it holds): the same checks
   * as a gossiped one, then onPayload. Returns why it was refused, or null.
   */
  async receive (envelope: Uint8Array, from: PeerId): Promise<string | null> {
    const opened = await this.open(envelope, from, 'relayed')
    if (typeof opened === 'string') return opened
    this.init.onPayload(opened.payload, opened.signer, envelope, true)
    return null
  }

  private readonly validator = async (from: PeerId, msg: Message): Promise<TopicValidatorResult> => {
    const opened = await this.open(msg.data, from, 'gossip')
    if (typeof opened === 'string') return TopicValidatorResult.Reject
    this.accepted.set(msg, { ...opened, envelope: msg.data })
    return TopicValidatorResult.Accept
  }

  /** the payload and its signer, or why it is refused (logged once per peer and reason) */
  private async open (envelope: Uint8Array, from: PeerId, via: 'gossip' | 'relayed'): Promise<{ payload: T, signer: PeerId } | string> {
    try {
      const { signer, payload } = await openJson(this.init.kind, envelope)
      const refused = await this.init.check(payload, signer)
      if (refused != null) throw new Error(refused)
      return { payload: payload as T, signer }
    } catch (err) {
      const peer = from.toString()
      const reason = errorMessage(err)
      const level = this.refusals.get(peer) === reason ? 'debug' : 'warn'
      if (this.refusals.size > 10_000) this.refusals.clear()
      this.refusals.set(peer, reason)
      this.components.log[level]({ component: this.init.component, peer, reason }, `rejected ${via} message`)
      return reason
    }
  }

  private readonly onMessage = (evt: CustomEvent<Message>): void => {
    if (evt.detail.topic !== this.init.topic) return
    const entry = this.accepted.get(evt.detail)
    if (entry == null) return
    this.accepted.delete(evt.detail)
    this.init.onPayload(entry.payload, entry.signer, entry.envelope, false)
  }
}
