/**
 * The private network (swarm key): every connection is XSalsa20-encrypted with the pre-shared key
 * before Noise runs, so a host without the key cannot even start a handshake. Same wire format as
 * @libp2p/pnet (each side sends a random 24-byte nonce, then XORs its bytes with
 * XSalsa20(psk, its nonce)), so meshes of either implementation interoperate.
 *
 * Why not @libp2p/pnet itself (3.0.27): its cipher package (xsalsa20, WebAssembly) keeps every
 * cipher in one shared memory; a socket read bigger than its scratch area grows that memory and the
 * other ciphers' stale views then grow it again and again until it throws "Maximum memory size
 * exceeded" inside a socket event handler, which killed the daemon while staging a 256 MiB file to
 * 10 hosts. It never finalises its ciphers either, so each connection leaks two slots and after
 * about 5,000 connections new ones fail ("offset is out of bounds"); js-libp2p#3585 fixes both, not
 * released yet. And at a quarter of libsodium's speed it was over half the CPU of a bulk transfer.
 * StreamXor (cipher.ts) is libsodium's XSalsa20, decrypting socket reads in place.
 */
import { InvalidParametersError } from '@libp2p/interface'
import { byteStream } from '@libp2p/utils'
import { fromString } from 'uint8arrays/from-string'
import { PrivateStream } from './stream.js'
import type { AbortOptions, ConnectionProtector, MessageStream, MultiaddrConnection } from '@libp2p/interface'

export const NONCE_BYTES = 24
/** the nonce exchange, when the caller gives no signal */
const DEFAULT_TIMEOUT_MS = 1_000

export interface PrivateNetworkInit {
  /** the swarm key file in canonical form (see parseSwarmKey): header, encoding, 64 hex digits */
  psk: Uint8Array
  timeoutMs?: number
}

/** The 32 key bytes of a canonical swarm key file. */
export function swarmKeyBytes (psk: Uint8Array): Uint8Array {
  const hex = new TextDecoder().decode(psk).split(/\r?\n/)[2] ?? ''
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) throw new InvalidParametersError('the swarm key has no 64-hex-digit key on its third line')
  return fromString(hex.toLowerCase(), 'base16')
}

class PrivateNetwork implements ConnectionProtector {
  private readonly key: Uint8Array
  private readonly timeoutMs: number

  constructor (init: PrivateNetworkInit) {
    this.key = swarmKeyBytes(init.psk)
    this.timeoutMs = init.timeoutMs ?? DEFAULT_TIMEOUT_MS
  }

  readonly [Symbol.toStringTag] = 'mesh/pnet'

  async protect (connection: MessageStream, options?: AbortOptions): Promise<MessageStream> {
    const log = connection.log.newScope('pnet')
    const localNonce = crypto.getRandomValues(new Uint8Array(NONCE_BYTES))
    const opts = options ?? { signal: AbortSignal.timeout(this.timeoutMs) }
    // libp2p hands a protector the raw transport connection, a MultiaddrConnection
    const bytes = byteStream(connection)
    const [remote] = await Promise.all([bytes.read({ bytes: NONCE_BYTES, ...opts }), bytes.write(localNonce, opts)])
    log('exchanged nonces')
    return new PrivateStream({ psk: this.key, localNonce, remoteNonce: remote.subarray(), maConn: bytes.unwrap() as MultiaddrConnection, log })
  }
}

export function privateNetwork (init: PrivateNetworkInit): () => ConnectionProtector {
  return () => new PrivateNetwork(init)
}
