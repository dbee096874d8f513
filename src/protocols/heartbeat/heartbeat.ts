import { TopicValidatorResult } from '@libp2p/gossipsub'
import { errorMessage } from '../../errors.js'
import { openJson, sealJson } from '../envelope/index.js'
import { createAdvertValidator } from './advert.js'
import {
  DEFAULT_HEARTBEAT_INTERVAL_MS, HEARTBEAT_DOMAIN, HEARTBEAT_PAYLOAD_TYPE, HEARTBEAT_TOPIC,
  LEAVE_TIMEOUT_MS, MAX_CLOCK_SKEW_MS, MAX_HEARTBEAT_BYTES
} from './constants.js'
import type { Advert, AdvertValidator } from './advert.js'
import type { Heartbeat, HeartbeatComponents, HeartbeatInit } from './index.js'
import type { RecordKind } from '../envelope/index.js'
import type { Message } from '@libp2p/gossipsub'
import type { PeerId } from '@libp2p/interface'

const KIND: RecordKind = { domain: HEARTBEAT_DOMAIN, payloadType: HEARTBEAT_PAYLOAD_TYPE, maxBytes: MAX_HEARTBEAT_BYTES }

export class HeartbeatService implements Heartbeat {
  private readonly components: HeartbeatComponents
  private readonly init: HeartbeatInit
  private readonly intervalMs: number
  private readonly now: () => number
  private readonly validate: AdvertValidator
  /** validated adverts handed from the topic validator to the message listener */
  private readonly accepted = new WeakMap<Message, Advert>()
  private timer?: ReturnType<typeof setInterval>
  private lastSeq = 0
  private started = false

  constructor (components: HeartbeatComponents, init: HeartbeatInit) {
    this.components = components
    this.init = init
    this.intervalMs = init.intervalMs ?? DEFAULT_HEARTBEAT_INTERVAL_MS
    this.now = init.now ?? Date.now
    this.validate = createAdvertValidator()
  }

  async start (): Promise<void> {
    if (this.started) return
    this.started = true
    const { pubsub } = this.components
    pubsub.topicValidators.set(HEARTBEAT_TOPIC, this.validator)
    pubsub.addEventListener('message', this.onMessage)
    pubsub.subscribe(HEARTBEAT_TOPIC)
    this.timer = setInterval(() => { void this.publishNow() }, this.intervalMs)
    await this.publishNow()
  }

  async stop (): Promise<void> {
    if (!this.started) return
    this.started = false
    clearInterval(this.timer)
    // best effort goodbye so others mark us offline at once instead of after the timeout
    await Promise.race([
      this.publish(true),
      new Promise(resolve => setTimeout(resolve, LEAVE_TIMEOUT_MS).unref())
    ])
    const { pubsub } = this.components
    pubsub.unsubscribe(HEARTBEAT_TOPIC)
    pubsub.removeEventListener('message', this.onMessage)
    pubsub.topicValidators.delete(HEARTBEAT_TOPIC)
  }

  async publishNow (): Promise<void> {
    if (!this.started) return
    await this.publish(false)
  }

  private async publish (leaving: boolean): Promise<void> {
    const sentAt = this.now()
    // clock-based so a restarted daemon's adverts still beat the ones it sent before it stopped
    this.lastSeq = Math.max(this.lastSeq + 1, sentAt)
    const advert: Advert = {
      v: 1,
      ...this.init.advert(),
      peerId: this.components.peerId.toString(),
      seq: this.lastSeq,
      sentAt,
      leaving
    }
    try {
      const bytes = await sealJson(KIND, advert, this.components.privateKey)
      await this.components.pubsub.publish(HEARTBEAT_TOPIC, bytes)
    } catch (err) {
      this.components.log.warn({ component: 'heartbeat', err }, 'heartbeat publish failed')
    }
  }

  private readonly validator = async (from: PeerId, msg: Message): Promise<TopicValidatorResult> => {
    const { log } = this.components
    try {
      if (msg.type !== 'signed') throw new Error('unsigned gossip message')
      const { signer, payload } = await openJson(KIND, msg.data)
      if (!signer.equals(msg.from)) {
        throw new Error(`heartbeat from ${msg.from.toString()} is signed by ${signer.toString()}`)
      }
      if (!this.validate(payload)) throw new Error(this.validate.lastError())
      if (payload.peerId !== signer.toString()) {
        throw new Error(`heartbeat signed by ${signer.toString()} claims to be ${payload.peerId}`)
      }
      if (payload.sentAt > this.now() + MAX_CLOCK_SKEW_MS) {
        throw new Error(`heartbeat from ${payload.peerId} is dated ${payload.sentAt - this.now()} ms in the future`)
      }
      this.accepted.set(msg, payload)
      return TopicValidatorResult.Accept
    } catch (err) {
      log.warn({ component: 'heartbeat', peer: from.toString(), reason: errorMessage(err) }, 'rejected heartbeat')
      return TopicValidatorResult.Reject
    }
  }

  private readonly onMessage = (evt: CustomEvent<Message>): void => {
    if (evt.detail.topic !== HEARTBEAT_TOPIC) return
    const advert = this.accepted.get(evt.detail)
    if (advert == null) return
    this.accepted.delete(evt.detail)
    this.init.onAdvert(advert)
  }
}
