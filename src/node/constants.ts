/**
 * Wire constants shared by every node of a mesh. Changing one is a protocol change: every id carries
 * a version so old and new daemons can tell each other apart.
 */

/** Private Kademlia protocol: never the public IPFS DHT (/ipfs/kad/1.0.0). */
export const DHT_PROTOCOL = '/mesh/kad/1.0.0'

/** identify and ping live under /mesh/... instead of /ipfs/... */
export const PROTOCOL_PREFIX = 'mesh'

/** mDNS service name, so LAN discovery only answers other mesh daemons. */
export const MDNS_SERVICE_TAG = 'mesh-runner.local'

/** DHT provider records must expire identically on every node (LIBP2P-NOTES). */
export const PROVIDER_VALIDITY_MS = 10 * 60_000
export const PROVIDER_REPROVIDE_INTERVAL_MS = 2 * 60_000
export const PROVIDER_REPROVIDE_THRESHOLD_MS = 5 * 60_000

/** Many lab nodes share one IP (loopback, NAT): the default 5 inbound/s per IP resets them. */
export const INBOUND_CONNECTION_THRESHOLD = 500
export const MAX_CONNECTIONS = 400
export const DIAL_TIMEOUT_MS = 10_000
/** inbound connections still in their handshake (pnet, Noise, Yamux) at once; libp2p's default, pinned */
export const MAX_INCOMING_PENDING_CONNECTIONS = 10
/**
 * Streams a peer may open on a new connection before this side has finished setting it up (the
 * dialler finishes its handshake first and may open streams at once). Past it yamux closes the
 * whole connection: its default of 10 did so in a test that sent 12 offers right after a dial
 * (a mass start of 25 daemons opens up to 4 such streams). Each is bounded like any other stream
 * (window, 1000 per connection), and this lasts only a handshake.
 */
export const MAX_EARLY_STREAMS = 64

/**
 * Largest gossipsub RPC read from a peer (it-length-prefixed's default, pinned): a revocation list,
 * the largest record (~1.4 MB), plus a batch of smaller ones in one IWANT answer.
 */
export const MAX_GOSSIP_RPC_BYTES = 4 * 1024 * 1024
/** gossip messages at least this big get IDONTWANTs (libp2p.ts says why it is not gossipsub's 512) */
export const IDONTWANT_MIN_BYTES = 16 * 1024
/** gossipsub mesh degree (target, low and high water marks) and gossip emission degree; libp2p's defaults are 6, 4, 12, 6 */
export const GOSSIP_D = 4
export const GOSSIP_D_LO = 3
export const GOSSIP_D_HI = 8
export const GOSSIP_D_LAZY = 3
