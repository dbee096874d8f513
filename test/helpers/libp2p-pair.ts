import { generateKeyPair } from '@libp2p/crypto/keys'
import { createMeshLibp2p } from '../../src/node/libp2p.js'
import { generateSwarmKey, parseSwarmKey } from '../../src/node/swarm-key.js'
import type { MeshLibp2p } from '../../src/node/libp2p.js'

/**
 * Two started mesh libp2p nodes on loopback behind one swarm key, the second dialled to the first,
 * for protocol tests. Resolves once the listener has the connection too: the dialler has it before
 * the listener finished upgrading it, and streams opened in between are held as "early" streams
 * (past MAX_EARLY_STREAMS the listener closes the whole connection).
 */
export async function connectedPair (): Promise<{ listener: MeshLibp2p, dialler: MeshLibp2p }> {
  const swarmKey = parseSwarmKey(generateSwarmKey(), 'swarm.key')
  const start = async (): Promise<MeshLibp2p> => {
    const node = await createMeshLibp2p({ privateKey: await generateKeyPair('Ed25519'), listen: ['/ip4/127.0.0.1/tcp/0'], bootstrap: [], mdns: false, swarmKey })
    await node.start()
    return node
  }
  const listener = await start()
  const dialler = await start()
  await dialler.dial(listener.getMultiaddrs()[0]!)
  while (listener.getConnections(dialler.peerId).length === 0) await new Promise(resolve => setTimeout(resolve, 10))
  return { listener, dialler }
}
