import { createCipheriv, createDecipheriv, createSecretKey } from 'node:crypto'
import type { KeyObject } from 'node:crypto'
import { defaultCrypto } from '@chainsafe/libp2p-noise/crypto'
import type { ICryptoInterface } from '@chainsafe/libp2p-noise'
import { Uint8ArrayList } from 'uint8arraylist'

/** below this many bytes Noise's WebAssembly AEAD beats creating a Node cipher (Noise's own cut-off) */
const NODE_CIPHER_FROM = 1200
const TAG_BYTES = 16
const CIPHER = 'chacha20-poly1305'

/**
 * Noise's crypto, with the messages it seals through Node's cipher keyed by a KeyObject made once per
 * session key. Noise's own Node path hands Node the raw key bytes for every message, and Node tells
 * bytes from a key object by throwing and catching two TypeErrors (isKeyObject, then isCryptoKey):
 * `getKeyObjectSlots` and `getSlots` were ~5 % of a receiving runner's CPU in the staging profile.
 * The wire is the same ChaCha20-Poly1305; small messages and the handshake stay with Noise's default.
 */
export function noiseCrypto (): ICryptoInterface {
  // a session's key is one Uint8Array for the session's life (Noise's CipherState.k)
  const keys = new WeakMap<Uint8Array, KeyObject>()
  const keyObject = (k: Uint8Array): KeyObject => {
    let key = keys.get(k)
    if (key == null) {
      key = createSecretKey(k)
      keys.set(k, key)
    }
    return key
  }

  return {
    ...defaultCrypto,

    chaCha20Poly1305Encrypt (plaintext, nonce, ad, k) {
      if (plaintext.byteLength < NODE_CIPHER_FROM) return defaultCrypto.chaCha20Poly1305Encrypt(plaintext, nonce, ad, k)
      const cipher = createCipheriv(CIPHER, keyObject(k), nonce, { authTagLength: TAG_BYTES })
      cipher.setAAD(ad, { plaintextLength: plaintext.byteLength })
      // the parts as they come: no copy into one buffer (the connection writes a list as it is)
      const out = new Uint8ArrayList()
      for (const part of parts(plaintext)) out.append(cipher.update(part))
      const rest = cipher.final()
      if (rest.byteLength > 0) out.append(rest)
      out.append(cipher.getAuthTag())
      return out
    },

    chaCha20Poly1305Decrypt (ciphertext, nonce, ad, k, dst) {
      if (ciphertext.byteLength < NODE_CIPHER_FROM) return defaultCrypto.chaCha20Poly1305Decrypt(ciphertext, nonce, ad, k, dst)
      const textBytes = ciphertext.byteLength - TAG_BYTES
      const decipher = createDecipheriv(CIPHER, keyObject(k), nonce, { authTagLength: TAG_BYTES })
      decipher.setAAD(ad, { plaintextLength: textBytes })
      decipher.setAuthTag(ciphertext.subarray(textBytes))
      const text = ciphertext instanceof Uint8Array ? ciphertext.subarray(0, textBytes) : ciphertext.sublist(0, textBytes)
      const out: Uint8Array[] = []
      for (const part of parts(text)) out.push(decipher.update(part))
      // throws when the tag does not match: Noise then fails the connection
      const rest = decipher.final()
      if (rest.byteLength > 0) out.push(rest)
      const [only] = out
      return out.length === 1 && only != null ? only : new Uint8ArrayList(...out)
    }
  }
}

function parts (data: Uint8Array | Uint8ArrayList): Iterable<Uint8Array> {
  return data instanceof Uint8Array ? [data] : data
}
