import { MAX_ROSTER_PEERS } from './constants.js'

/**
 * What the puller holds: peer id and seq of its newest advert of each. The listener sends the
 * peers missing from it (the seqs let a later version send newer adverts too without a new protocol).
 */
export interface Have {
  v: 1
  have: Array<[string, number]>
}

/** a peer id as text (base58 Ed25519 ids are 52 characters; bound it, do not parse it here) */
const MAX_PEER_ID_CHARS = 128

export function isHave (v: unknown): v is Have {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false
  const h = v as { v?: unknown, have?: unknown }
  if (Object.keys(h).length !== 2 || h.v !== 1 || !Array.isArray(h.have) || h.have.length > MAX_ROSTER_PEERS) return false
  return h.have.every(e => Array.isArray(e) && e.length === 2 && typeof e[0] === 'string' && e[0].length > 0 &&
    e[0].length <= MAX_PEER_ID_CHARS && Number.isSafeInteger(e[1]) && (e[1] as number) >= 0)
}
