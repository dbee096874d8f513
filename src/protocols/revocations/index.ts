/**
 * Revocation lists on gossip. The authority signs each version; any node that holds a newer one
 * (from `mesh ca revoke --home`, its file, or gossip) republishes it, so every node converges on the
 * newest and refuses older ones.
 *
 *   node ──seal({ list })──▶ /mesh/revocations/1.0.0 ──▶ check: authority signature, newer → adopt
 */
import { SignedTopic } from '../signed-topic.js'
import type { SignedTopicComponents } from '../signed-topic.js'

export const REVOCATIONS_TOPIC = '/mesh/revocations/1.0.0'
const DOMAIN = 'mesh-revocations-gossip'
const PAYLOAD_TYPE = new TextEncoder().encode(REVOCATIONS_TOPIC)
const MAX_BYTES = 1_500_000

export interface RevocationsInit {
  /** why the list (raw bytes) is refused (bad signature, not newer), or null */
  check: (list: Uint8Array) => Promise<string | null>
  onList: (list: Uint8Array) => void
}

export interface Revocations {
  start: () => void
  stop: () => void
  publish: (list: Uint8Array) => Promise<boolean>
}

export function revocations (init: RevocationsInit): (components: SignedTopicComponents) => Revocations {
  return (components) => {
    const topic = new SignedTopic<{ list: string }>(components, {
      topic: REVOCATIONS_TOPIC,
      kind: { domain: DOMAIN, payloadType: PAYLOAD_TYPE, maxBytes: MAX_BYTES },
      component: 'revocations',
      check: async (payload: unknown) => {
        const list = (payload as { list?: unknown } | null)?.list
        if (typeof list !== 'string') return 'revocation message without a list'
        return init.check(Buffer.from(list, 'base64'))
      },
      onPayload: p => { init.onList(Buffer.from(p.list, 'base64')) }
    })
    return {
      start: () => { topic.start() },
      stop: () => { topic.stop() },
      publish: async (list) => topic.publish({ list: Buffer.from(list).toString('base64') })
    }
  }
}
