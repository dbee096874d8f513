/**
 * The libp2p node mesh builds, between two real nodes over TCP on loopback behind a swarm key.
 */
import assert from 'node:assert/strict'
import { after, describe, it } from 'node:test'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { MAX_EARLY_STREAMS } from '../../src/node/constants.js'
import { createMeshLibp2p } from '../../src/node/libp2p.js'
import { generateSwarmKey, parseSwarmKey } from '../../src/node/swarm-key.js'
import type { MeshLibp2p } from '../../src/node/libp2p.js'

const ECHO = '/mesh-test/echo/1.0.0'

describe('mesh libp2p node', () => {
  const nodes: MeshLibp2p[] = []
  after(async () => { await Promise.all(nodes.map(async n => n.stop())) })

  const start = async (swarmKey: Uint8Array): Promise<MeshLibp2p> => {
    const node = await createMeshLibp2p({ privateKey: await generateKeyPair('Ed25519'), listen: ['/ip4/127.0.0.1/tcp/0'], bootstrap: [], mdns: false, swarmKey })
    nodes.push(node)
    await node.start()
    return node
  }

  it('keeps a new connection when the dialler opens many streams before the listener finished its handshake', async () => {
    // yamux's default (10 such streams) closed the whole connection, and every stream on it with it
    const swarmKey = parseSwarmKey(generateSwarmKey(), 'swarm.key')
    const listener = await start(swarmKey)
    const dialler = await start(swarmKey)
    await listener.handle(ECHO, async (stream) => {
      for await (const chunk of stream) stream.send(chunk)
      await stream.close()
    })
    const connection = await dialler.dial(listener.getMultiaddrs()[0]!)
    const burst = 20
    assert.ok(burst <= MAX_EARLY_STREAMS)
    const replies = await Promise.all(Array.from({ length: burst }, async (_, i) => {
      const stream = await connection.newStream(ECHO)
      stream.send(new TextEncoder().encode(`hello ${i}`))
      await stream.close()
      let text = ''
      for await (const chunk of stream) text += new TextDecoder().decode(chunk.subarray())
      return text
    }))
    assert.deepEqual(replies, Array.from({ length: burst }, (_, i) => `hello ${i}`))
    assert.equal(connection.status, 'open')
  })
})
