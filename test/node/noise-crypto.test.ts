import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { describe, it } from 'node:test'
import { defaultCrypto } from '@chainsafe/libp2p-noise/crypto'
import { Uint8ArrayList } from 'uint8arraylist'
import { noiseCrypto } from '../../src/node/noise-crypto.js'

/** the bytes as a plain Uint8Array (Buffer or not, one part or several) */
const flat = (data: Uint8Array | Uint8ArrayList): Uint8Array => Uint8Array.from(data instanceof Uint8Array ? data : data.subarray())

/** a plaintext as Noise gets it from yamux: a frame header and its data in two parts */
function framed (size: number): Uint8ArrayList {
  const bytes = randomBytes(size)
  return new Uint8ArrayList(bytes.subarray(0, Math.min(12, size)), bytes.subarray(Math.min(12, size)))
}

describe('noiseCrypto (ChaCha20-Poly1305 with a KeyObject per session key)', () => {
  const ours = noiseCrypto()
  const k = randomBytes(32)
  const ad = randomBytes(32)
  const nonce = (n: number): Uint8Array => { const b = new Uint8Array(12); new DataView(b.buffer).setUint32(4, n, true); return b }

  for (const size of [0, 100, 1199, 1200, 4096, 65_519]) {
    it(`seals and opens what Noise's default does, byte for byte (${size} bytes, one part and two)`, () => {
      for (const plain of [randomBytes(size), framed(size)]) {
        const n = nonce(size)
        const sealed = flat(ours.chaCha20Poly1305Encrypt(plain, n, ad, k))
        assert.deepEqual(sealed, flat(defaultCrypto.chaCha20Poly1305Encrypt(plain, n, ad, k)))
        // each opens the other's, from one buffer and from a list split where a socket read may end
        const split = new Uint8ArrayList(sealed.subarray(0, sealed.length >> 1), sealed.subarray(sealed.length >> 1))
        for (const c of [sealed, split]) {
          assert.deepEqual(flat(ours.chaCha20Poly1305Decrypt(c, n, ad, k)), flat(plain))
          assert.deepEqual(flat(defaultCrypto.chaCha20Poly1305Decrypt(c, n, ad, k)), flat(plain))
        }
      }
    })
  }

  it('refuses a changed byte, tag, nonce, key or associated data', () => {
    const plain = randomBytes(8192)
    const sealed = flat(ours.chaCha20Poly1305Encrypt(plain, nonce(1), ad, k))
    const flipped = (i: number): Uint8Array => { const c = Uint8Array.from(sealed); c[i] = (c[i] ?? 0) ^ 1; return c }
    assert.throws(() => ours.chaCha20Poly1305Decrypt(flipped(10), nonce(1), ad, k))
    assert.throws(() => ours.chaCha20Poly1305Decrypt(flipped(sealed.length - 1), nonce(1), ad, k))
    assert.throws(() => ours.chaCha20Poly1305Decrypt(sealed, nonce(2), ad, k))
    assert.throws(() => ours.chaCha20Poly1305Decrypt(sealed, nonce(1), ad, randomBytes(32)))
    assert.throws(() => ours.chaCha20Poly1305Decrypt(sealed, nonce(1), randomBytes(32), k))
  })

  it('keeps one key per session apart from another session\'s', () => {
    const k2 = randomBytes(32)
    const plain = randomBytes(4096)
    const a = flat(ours.chaCha20Poly1305Encrypt(plain, nonce(1), ad, k))
    const b = flat(ours.chaCha20Poly1305Encrypt(plain, nonce(1), ad, k2))
    assert.notDeepEqual(a, b)
    assert.deepEqual(flat(ours.chaCha20Poly1305Decrypt(b, nonce(1), ad, k2)), flat(plain))
    assert.throws(() => ours.chaCha20Poly1305Decrypt(b, nonce(1), ad, k))
  })
})
