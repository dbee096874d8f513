import { randomBytes } from 'node:crypto'
import { ReplayGuard, signTask, verifyTask } from '../trust/index.js'
import type { OfferAuth, TaskOffer } from '../../protocols/push/index.js'
import type { KvStore } from '../trust/index.js'
import type { PrivateKey } from '@libp2p/interface'

/** How long a signed offer stays valid: long enough for a slow link, short enough to bound replays. */
export const OFFER_TTL_MS = 10 * 60_000

export interface OfferAuthInit {
  privateKey: PrivateKey
  /** ids of offers already accepted, until they expire (on disk: survives restarts) */
  seen: KvStore
  /** this node's certificate (base64), sent with every offer in authority mode */
  cert?: () => string | undefined
  /** authority mode: may `from`, presenting `cert`, dispatch to this node? why not, or null */
  checkDispatcher?: (cert: string | null, from: string, now: number) => Promise<string | null>
  now?: () => number
}

/**
 * Signs offers with the dispatcher's node key (a libp2p signed envelope over the exact body bytes,
 * with issue and expiry times) and verifies them on the runner before the body is parsed:
 * signature by the connection's peer, body hash, expiry, replay, then the certificate's role.
 */
export function offerAuth (init: OfferAuthInit): OfferAuth {
  const now = init.now ?? Date.now
  const replay = new ReplayGuard(init.seen)
  return {
    async sign (body: Uint8Array, offer: TaskOffer) {
      const issuedAt = now()
      const envelope = await signTask(init.privateKey, { taskId: claimId(offer), body, issuedAt, expiresAt: issuedAt + OFFER_TTL_MS })
      return { auth: Buffer.from(envelope).toString('base64'), cert: init.cert?.() ?? null }
    },
    async verify (body, frame, from) {
      if (frame.auth === '') return `task offer from ${from} is not signed`
      const t = now()
      const verdict = await verifyTask(Buffer.from(frame.auth, 'base64'), { body, now: t, signer: from })
      if (!verdict.ok) return verdict.reason
      const refused = await init.checkDispatcher?.(frame.cert, from, t)
      if (refused != null) return refused
      // last: only an offer that passed every other check consumes its id
      const admitted = await replay.admit(verdict.taskId, verdict.expiresAt, t)
      return admitted.ok ? null : admitted.reason
    }
  }
}

/**
 * The id a signed offer claims. Each signing is a new claim: a dispatcher that offers the same
 * attempt again after a refusal (runner full) is not replaying; a captured envelope sent twice is.
 */
function claimId (offer: TaskOffer): string {
  return `${offer.id}.${offer.attempt}.${randomBytes(6).toString('hex')}`
}
