/**
 * The push protocol between two real libp2p nodes (TCP on loopback, in one process): refused
 * offers must not leak streams — past the per-protocol limit (64) a leak made every push fail.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { createMeshLibp2p } from '../../src/node/libp2p.js'
import { silentLogger } from '../../src/node/logger.js'
import { unsignedAuth } from '../../src/node/membership/index.js'
import { push } from '../../src/protocols/push/index.js'
import type { MeshLibp2p } from '../../src/node/libp2p.js'
import type { OfferSession, TaskOffer } from '../../src/protocols/push/index.js'

function offer (id: string, dispatcher: string): TaskOffer {
  return {
    v: 1, id, group: id, attempt: 1, dispatcher, submittedAt: new Date().toISOString(), name: 't', command: ['true'], shell: false,
    env: {}, cwd: null, tags: [], resources: { cores: 1, memoryMB: 0, gpus: 0, numa: 'any' }, timeoutSec: 60, files: []
  }
}

describe('push protocol over real libp2p', () => {
  let runner: MeshLibp2p, dispatcher: MeshLibp2p
  let full = true
  const log = silentLogger()

  before(async () => {
    for (const n of ['runner', 'dispatcher'] as const) {
      const node = await createMeshLibp2p({ privateKey: await generateKeyPair('Ed25519'), listen: ['/ip4/127.0.0.1/tcp/0'], bootstrap: [], mdns: false })
      await node.start()
      if (n === 'runner') runner = node
      else dispatcher = node
    }
  })

  after(async () => { await Promise.all([runner?.stop(), dispatcher?.stop()]) })

  it('a runner that refuses 70 offers still accepts the next one', async () => {
    const session = (reply: OfferSession['reply']): OfferSession => ({
      reply, receive: async () => {}, commit: async () => ({ status: 'accepted', numaNode: 0 }), abort: () => {}
    })
    const handler = { open: async () => full ? session({ status: 'rejected', reason: 'full' }) : session({ status: 'reserved', numaNode: 0, missing: [] }) }
    const serving = push({ handler, auth: unsignedAuth() })({ node: runner, log })
    const client = push({ handler, auth: unsignedAuth() })({ node: dispatcher, log })
    await serving.start()
    await dispatcher.dial(runner.getMultiaddrs()[0]!)
    const me = dispatcher.peerId.toString()
    for (let i = 0; i < 70; i++) {
      const r = await client.push(runner.peerId, offer(`t${i}`, me), () => (async function * () {})(), {})
      assert.equal(r.status, 'rejected', JSON.stringify(r))
      assert.equal((r as { reason: string }).reason, 'full')
    }
    full = false
    const ok = await client.push(runner.peerId, offer('last', me), () => (async function * () {})(), {})
    assert.deepEqual(ok, { status: 'accepted', numaNode: 0, sentFiles: 0 })
    await serving.stop()
  })
})
