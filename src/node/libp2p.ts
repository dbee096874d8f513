import { createHash } from 'node:crypto'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { bootstrap } from '@libp2p/bootstrap'
import { gossipsub } from '@libp2p/gossipsub'
import { identify } from '@libp2p/identify'
import { kadDHT, passthroughMapper } from '@libp2p/kad-dht'
import { mdns } from '@libp2p/mdns'
import { ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import { createLibp2p } from 'libp2p'
import {
  DHT_PROTOCOL, DIAL_TIMEOUT_MS, GOSSIP_D, GOSSIP_D_HI, GOSSIP_D_LAZY, GOSSIP_D_LO, IDONTWANT_MIN_BYTES, INBOUND_CONNECTION_THRESHOLD, MAX_CONNECTIONS, MAX_EARLY_STREAMS, MAX_GOSSIP_RPC_BYTES, MAX_INCOMING_PENDING_CONNECTIONS, MDNS_SERVICE_TAG,
  PROTOCOL_PREFIX, PROVIDER_REPROVIDE_INTERVAL_MS, PROVIDER_REPROVIDE_THRESHOLD_MS, PROVIDER_VALIDITY_MS
} from './constants.js'
import { noiseCrypto } from './noise-crypto.js'
import { privateNetwork } from './pnet/index.js'
import { STREAM_WINDOW_BYTES } from '../protocols/frames.js'
import type { GossipSub } from '@libp2p/gossipsub'
import type { Identify } from '@libp2p/identify'
import type { PrivateKey, Libp2p } from '@libp2p/interface'
import type { KadDHT } from '@libp2p/kad-dht'
import type { Ping } from '@libp2p/ping'
import type { Libp2pOptions } from 'libp2p'

// a type alias, not an interface: ServiceMap needs an index signature
export type MeshServices = {
  identify: Identify
  ping: Ping
  dht: KadDHT
  pubsub: GossipSub
}

export type MeshLibp2p = Libp2p<MeshServices>

const EMPTY = new Uint8Array(0)

export interface MeshLibp2pInit {
  privateKey: PrivateKey
  listen: string[]
  bootstrap: string[]
  /** Swarm key file bytes; without it the transport is open to anyone who can reach the port. */
  swarmKey?: Uint8Array
  mdns: boolean
  /** peers refused at the transport (revoked certificates) */
  denied?: (peer: string) => boolean
}

/**
 * Assembles the libp2p node of a mesh daemon: TCP + Noise + Yamux, identify, ping, a private
 * Kademlia DHT in server mode and gossipsub. Every setting here that differs from libp2p's defaults
 * exists because the default breaks a private lab mesh (see LIBP2P-NOTES.md).
 */
export async function createMeshLibp2p (init: MeshLibp2pInit): Promise<MeshLibp2p> {
  const peerDiscovery: NonNullable<Libp2pOptions['peerDiscovery']> = []
  if (init.bootstrap.length > 0) {
    peerDiscovery.push(bootstrap({ list: init.bootstrap, timeout: 100 }))
  }
  if (init.mdns) {
    peerDiscovery.push(mdns({ serviceTag: MDNS_SERVICE_TAG, interval: 10_000 }))
  }

  return createLibp2p({
    privateKey: init.privateKey,
    // start: false so the caller can attach event listeners before anything is dialled
    start: false,
    addresses: { listen: init.listen },
    transports: [tcp()],
    connectionEncrypters: [noise({ crypto: noiseCrypto() })],
    // the window bounds what arrives after frames() pauses a stream its reader cannot keep up with
    streamMuxers: [yamux({ maxEarlyStreams: MAX_EARLY_STREAMS, streamOptions: { maxStreamWindowSize: STREAM_WINDOW_BYTES } })],
    ...(init.swarmKey != null ? { connectionProtector: privateNetwork({ psk: init.swarmKey }) } : {}),
    connectionManager: {
      maxConnections: MAX_CONNECTIONS,
      inboundConnectionThreshold: INBOUND_CONNECTION_THRESHOLD,
      maxIncomingPendingConnections: MAX_INCOMING_PENDING_CONNECTIONS,
      dialTimeout: DIAL_TIMEOUT_MS
    },
    peerDiscovery,
    connectionGater: {
      denyDialPeer: async (peer) => init.denied?.(peer.toString()) ?? false,
      denyInboundEncryptedConnection: async (peer) => init.denied?.(peer.toString()) ?? false,
      denyOutboundEncryptedConnection: async (peer) => init.denied?.(peer.toString()) ?? false
    },
    services: {
      identify: identify({ protocolPrefix: PROTOCOL_PREFIX }),
      ping: ping({ protocolPrefix: PROTOCOL_PREFIX }),
      dht: kadDHT({
        protocol: DHT_PROTOCOL,
        // a lab node has no public address; unset, it would stay a client and routing tables stay empty
        clientMode: false,
        // the default mapper drops loopback/private addresses, which are all a lab has
        peerInfoMapper: passthroughMapper,
        allowQueryWithZeroPeers: true,
        reprovide: {
          validity: PROVIDER_VALIDITY_MS,
          interval: PROVIDER_REPROVIDE_INTERVAL_MS,
          threshold: PROVIDER_REPROVIDE_THRESHOLD_MS
        }
      }),
      pubsub: gossipsub({
        allowPublishToZeroTopicPeers: true,
        // many daemons on one IP (loopback, NAT) would otherwise be graylisted and receive nothing
        scoreParams: { IPColocationFactorWeight: 0 },
        // dedupe before validation: without it every copy of a message (one per mesh neighbour) has
        // its signature verified, which was most of an idle daemon's CPU. The id covers the whole
        // raw message, so a forged copy cannot shadow the genuine one.
        fastMsgIdFn: msg => createHash('sha256').update(msg.from ?? EMPTY).update(msg.seqno ?? EMPTY)
          .update(msg.data ?? EMPTY).update(msg.signature ?? EMPTY).digest('base64'),
        emitSelf: false,
        // a publisher sends to its mesh peers (GOSSIP_D, below), not to every peer it knows: with
        // flooding, a fan-out to 25 hosts had each runner write its result to all 25 and every node
        // receive it up to 7 times (flood + forwards). In a private swarm there is no eclipse to outrun.
        floodPublish: false,
        // every payload is already a libp2p signed envelope checked by its topic's validator: a
        // second gossipsub signature per message doubled the signing and verifying of all gossip
        globalSignaturePolicy: 'StrictNoSign',
        // IDONTWANT (gossipsub 1.2) saves bandwidth on large messages by telling every mesh peer
        // "already have it": one extra framed, encrypted write per peer per message. Mesh records
        // and adverts are 1-3 KiB, so those writes cost more than the duplicates they prevent.
        idontwantMinDataSize: IDONTWANT_MIN_BYTES,
        maxInboundDataLength: MAX_GOSSIP_RPC_BYTES,
        // every node receives each message once from each mesh neighbour and drops all copies but
        // one after decrypting and hashing them: at the default D = 6 a 25-host fan-out sent each
        // message ~5.7 times per node. A lab mesh is tens of nodes, where D = 4 is still ≥ 3 paths
        // per node and one more hop at most (at 50 daemons results spread faster, not slower);
        // IHAVE gossip (Dlazy) is almost never answered by IWANT in a mesh this connected.
        D: GOSSIP_D,
        Dlo: GOSSIP_D_LO,
        Dhi: GOSSIP_D_HI,
        Dlazy: GOSSIP_D_LAZY
      })
    }
  })
}
