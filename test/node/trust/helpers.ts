import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { createAuthority } from '../../../src/node/trust/index.js'
import type { Authority, KvStore } from '../../../src/node/trust/index.js'

export const T0 = Date.parse('2025-01-01T00:00:00.000Z')
export const DAY = 86_400_000

/** A level sublevel in a Map: the same slice of the API. */
export class MapStore implements KvStore {
  readonly map = new Map<string, string>()
  async get (key: string): Promise<string | undefined> { return this.map.get(key) }
  async put (key: string, value: string): Promise<void> { this.map.set(key, value) }
  async del (key: string): Promise<void> { this.map.delete(key) }
  async * iterator (): AsyncIterable<[string, string]> { yield * [...this.map] }
}

export async function tempDir (): Promise<{ dir: string, cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'mesh-trust-'))
  return { dir, cleanup: async () => rm(dir, { recursive: true, force: true }) }
}

export async function newAuthority (root: string, name: string): Promise<Authority> {
  return createAuthority(join(root, name), { name, now: T0 })
}

export async function newPeerId (): Promise<string> {
  return peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
}
