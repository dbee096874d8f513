import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'
import { TAG_KEY_PREFIX } from './constants.js'

/** The DHT key of a tag; every node must derive it the same way. */
export async function tagKey (tag: string): Promise<CID> {
  const digest = await sha256.digest(new TextEncoder().encode(TAG_KEY_PREFIX + tag))
  return CID.createV1(raw.code, digest)
}
