/**
 * The node key for mesh's own signatures (offers, records, adverts), with its Ed25519 key imported
 * into OpenSSL once. @libp2p/crypto imports the raw key from a JWK on every `sign()`, which took
 * 2 % of a dispatching daemon's CPU (an offer and several records are signed per task).
 */
import { createPrivateKey, sign } from 'node:crypto'
import type { PrivateKey } from '@libp2p/interface'

const base64url = (bytes: Uint8Array): string => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url')

/** The same key (type, raw bytes, public key, equality); only `sign` is faster. Other key types pass through. */
export function withCachedSigning (key: PrivateKey): PrivateKey {
  if (key.type !== 'Ed25519') return key
  const keyObject = createPrivateKey({
    format: 'jwk',
    key: { kty: 'OKP', crv: 'Ed25519', d: base64url(key.raw.subarray(0, 32)), x: base64url(key.publicKey.raw) }
  })
  // everything but sign is read through the prototype chain from the key itself
  const signer = Object.create(key) as PrivateKey
  signer.sign = (data) => sign(null, data instanceof Uint8Array ? data : data.subarray(), keyObject)
  return signer
}
