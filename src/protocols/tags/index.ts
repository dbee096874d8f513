/**
 * Tags in the DHT: for each tag it holds, a node is a provider of the key
 * sha256('mesh/tag/<tag>'). Any node finds the holders of a tag with one findProviders walk,
 * without having heard their heartbeats yet.
 *
 *   start ─▶ provide(all tags) ─▶ again at +0.5 s, +3 s, +10 s (the routing table is filling)
 *                              └▶ every 5 min ± 20 % (heals partitions; kad-dht also reprovides)
 *   findPeers(tag) ─▶ findProviders(key) ─▶ deduped [{ peerId, addresses }]
 */
import { TagAdvertiser } from './tags.js'
import type { Logger } from '../../node/logger.js'
import type { KadDHT } from '@libp2p/kad-dht'

export { tagKey } from './key.js'

export interface TagsComponents {
  dht: Pick<KadDHT, 'provide' | 'findProviders'>
  log: Logger
}

export interface TagsInit {
  tags: string[]
  provideIntervalMs?: number
}

export interface TagHolder {
  peerId: string
  addresses: string[]
}

export interface Tags {
  start: () => Promise<void>
  stop: () => Promise<void>
  findPeers: (tag: string, options?: { signal?: AbortSignal }) => Promise<TagHolder[]>
}

export function tags (init: TagsInit): (components: TagsComponents) => Tags {
  return (components) => new TagAdvertiser(components, init)
}
