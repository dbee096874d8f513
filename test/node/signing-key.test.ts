import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { describe, it } from 'node:test'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { withCachedSigning } from '../../src/node/signing-key.js'

describe('withCachedSigning', () => {
  it('signs exactly as the key does (Ed25519 is deterministic), and the public key verifies it', async () => {
    const key = await generateKeyPair('Ed25519')
    const fast = withCachedSigning(key)
    for (const size of [0, 1, 100, 70_000]) {
      const data = randomBytes(size)
      const sig = await fast.sign(data)
      assert.deepEqual(sig, await key.sign(data))
      assert.equal(await key.publicKey.verify(data, sig), true)
    }
  })

  it('is the same key everywhere else: type, raw bytes, public key, peer id, equality', async () => {
    const key = await generateKeyPair('Ed25519')
    const fast = withCachedSigning(key)
    assert.equal(fast.type, 'Ed25519')
    assert.deepEqual(fast.raw, key.raw)
    assert.equal(fast.publicKey.equals(key.publicKey), true)
    assert.equal(peerIdFromPrivateKey(fast).toString(), peerIdFromPrivateKey(key).toString())
    assert.equal(key.equals(fast), true)
  })

  it('passes other key types through unchanged', async () => {
    const key = await generateKeyPair('secp256k1')
    assert.equal(withCachedSigning(key), key)
  })
})
