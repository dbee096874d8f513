/**
 * The push protocol between two real libp2p nodes (TCP on loopback, in one process, behind a swarm
 * key): refused offers must not leak streams — past the per-protocol limit (64) a leak made every
 * push fail — and a runner slower than the network must slow the sender down, not lose the push.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { createHash, randomBytes } from 'node:crypto'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { createMeshLibp2p } from '../../src/node/libp2p.js'
import { silentLogger } from '../../src/node/logger.js'
import { unsignedAuth } from '../../src/node/membership/index.js'
import { push, selfSupply } from '../../src/protocols/push/index.js'
import { generateSwarmKey, parseSwarmKey } from '../../src/node/swarm-key.js'
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
    const swarmKey = parseSwarmKey(generateSwarmKey(), 'swarm.key')
    for (const n of ['runner', 'dispatcher'] as const) {
      const node = await createMeshLibp2p({ privateKey: await generateKeyPair('Ed25519'), listen: ['/ip4/127.0.0.1/tcp/0'], bootstrap: [], mdns: false, swarmKey })
      await node.start()
      if (n === 'runner') runner = node
      else dispatcher = node
    }
  })

  after(async () => { await Promise.all([runner?.stop(), dispatcher?.stop()]) })

  it('a runner that refuses 70 offers still accepts the next one', async () => {
    const session = (reply: OfferSession['reply']): OfferSession => ({
      reply, receive: async () => {}, commit: async () => ({ status: 'accepted', numaNode: 0 }), abort: () => {}, extend: () => {}
    })
    const handler = { open: async () => full ? session({ status: 'rejected', reason: 'full' }) : session({ status: 'reserved', numaNode: 0, missing: [] }) }
    const serving = push({ handler, auth: unsignedAuth() })({ node: runner, log })
    const client = push({ handler, auth: unsignedAuth() })({ node: dispatcher, log })
    await serving.start()
    await dispatcher.dial(runner.getMultiaddrs()[0]!)
    const me = dispatcher.peerId.toString()
    for (let i = 0; i < 70; i++) {
      const r = await client.push(runner.peerId, offer(`t${i}`, me), selfSupply(() => (async function * () {})()), {})
      assert.equal(r.status, 'rejected', JSON.stringify(r))
      assert.equal((r as { reason: string }).reason, 'full')
    }
    full = false
    const ok = await client.push(runner.peerId, offer('last', me), selfSupply(() => (async function * () {})()), {})
    assert.deepEqual(ok, { status: 'accepted', numaNode: 0, sentFiles: 0, fetchedFiles: 0 })
    await serving.stop()
  })

  it('a runner slower than the network still receives a 24 MiB file whole (backpressure)', async () => {
    // byteStream buffered whatever came and aborted past 4 MiB: a runner writing to a slow disk
    // lost every push of a big file ("the peer sent more than the stream buffer holds")
    const file = randomBytes(24 * 1024 * 1024)
    const sha256 = createHash('sha256').update(file).digest('hex')
    let got: { hash: string, bytes: number } | undefined
    const handler = {
      open: async (): Promise<OfferSession> => ({
        reply: { status: 'reserved', numaNode: 0, missing: [sha256] },
        receive: async (_sha: string, _size: number, chunks: AsyncIterable<Uint8Array>) => {
          const hash = createHash('sha256')
          let bytes = 0
          for await (const chunk of chunks) {
            hash.update(chunk)
            bytes += chunk.byteLength
            await new Promise(resolve => setTimeout(resolve, 30))
          }
          got = { hash: hash.digest('hex'), bytes }
        },
        commit: async () => ({ status: 'accepted', numaNode: 0 }),
        abort: () => {},
        extend: () => {}
      })
    }
    const serving = push({ handler, auth: unsignedAuth() })({ node: runner, log })
    const client = push({ handler, auth: unsignedAuth() })({ node: dispatcher, log })
    await serving.start()
    const me = dispatcher.peerId.toString()
    const o = { ...offer('big', me), files: [{ dest: 'f.bin', sha256, size: file.byteLength, mode: 0o644 }] }
    // the file in 4 MiB reads, as a fast disk hands it over
    const source = (): AsyncIterable<Uint8Array> => (async function * () {
      for (let i = 0; i < file.byteLength; i += 4 * 1024 * 1024) yield file.subarray(i, i + 4 * 1024 * 1024)
    })()
    const r = await client.push(runner.peerId, o, selfSupply(source), {})
    assert.deepEqual(r, { status: 'accepted', numaNode: 0, sentFiles: 1, fetchedFiles: 0 })
    assert.deepEqual(got, { hash: sha256, bytes: file.byteLength })
    await serving.stop()
  })
})
