import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { describe, it } from 'node:test'
import { preSharedKey } from '@libp2p/pnet'
import { streamPair } from '@libp2p/utils'
// @ts-expect-error the xsalsa20 package (@libp2p/pnet's cipher) ships no types
import xsalsa20Untyped from 'xsalsa20'
import { StreamXor } from '../../../src/node/pnet/cipher.js'
import { privateNetwork, swarmKeyBytes } from '../../../src/node/pnet/index.js'
import { generateSwarmKey, parseSwarmKey } from '../../../src/node/swarm-key.js'
import type { MessageStream } from '@libp2p/interface'

interface Xor { update: (data: Uint8Array) => Uint8Array, finalize: () => void }
const xsalsa20 = xsalsa20Untyped as (nonce: Uint8Array, key: Uint8Array) => Xor

/** splits `data` at random points, as a socket delivers it */
function chunks (data: Uint8Array, max: number): Uint8Array[] {
  const out: Uint8Array[] = []
  for (let i = 0; i < data.byteLength;) {
    const n = 1 + Math.floor(Math.random() * max)
    out.push(data.subarray(i, i + n))
    i += n
  }
  return out
}

const concat = (parts: Uint8Array[]): Uint8Array => Uint8Array.from(Buffer.concat(parts))

describe('private network (swarm key) cipher', () => {
  it('gives the XSalsa20 keystream of @libp2p/pnet\'s cipher for any chunking (same wire format)', () => {
    const key = randomBytes(32)
    const nonce = randomBytes(24)
    const plain = randomBytes(200_000)
    for (const max of [1, 7, 63, 64, 65, 4096, 70_000]) {
      const ours = new StreamXor(key, nonce)
      const theirs = xsalsa20(nonce, key)
      const parts = chunks(plain, max)
      const inPlace = new StreamXor(key, nonce)
      const a = concat(parts.map(p => ours.update(p)))
      const b = concat(parts.map(p => theirs.update(p)))
      const c = concat(parts.map(p => inPlace.updateInPlace(Uint8Array.from(p))))
      assert.deepEqual(a, b, `chunks up to ${max} bytes`)
      assert.deepEqual(c, b, `in place, chunks up to ${max} bytes`)
      theirs.finalize()
      ours.close()
      inPlace.close()
    }
  })

  it('encrypts a list of parts as one run of the stream', () => {
    const key = randomBytes(32)
    const nonce = randomBytes(24)
    const parts = chunks(randomBytes(100_000), 5000)
    const whole = new StreamXor(key, nonce).update(concat(parts))
    const listed = new StreamXor(key, nonce)
    const a = listed.updateAll(parts.slice(0, 7), parts.slice(0, 7).reduce((n, p) => n + p.byteLength, 0))
    const b = listed.updateAll(parts.slice(7), parts.slice(7).reduce((n, p) => n + p.byteLength, 0))
    assert.deepEqual(Uint8Array.from(Buffer.concat([a, b])), Uint8Array.from(whole))
    assert.throws(() => listed.updateAll([new Uint8Array(3)], 4), /expected 4 bytes/)
  })

  it('decrypts what it encrypted, and leaves its input untouched', () => {
    const key = randomBytes(32)
    const nonce = randomBytes(24)
    const plain = randomBytes(10_000)
    const copy = Uint8Array.from(plain)
    const enc = new StreamXor(key, nonce)
    const dec = new StreamXor(key, nonce)
    const sealed = concat(chunks(plain, 999).map(c => enc.update(c)))
    assert.notDeepEqual(sealed, plain)
    const back = concat(chunks(sealed, 333).map(c => dec.update(c)))
    assert.deepEqual(back, Uint8Array.from(plain))
    assert.ok(plain.equals(copy), 'the input is not modified')
    const buf = Uint8Array.from(sealed)
    assert.equal(new StreamXor(key, nonce).updateInPlace(buf), buf, 'in place: the same buffer back')
    assert.deepEqual(buf, Uint8Array.from(plain))
    enc.close()
    dec.close()
  })

  it('carries 96 MiB in big reads over many connections at once without running out of memory', () => {
    // with @libp2p/pnet's WebAssembly cipher the shared memory grew until it threw "Maximum
    // memory size exceeded", in a socket handler, which killed the daemon
    const key = randomBytes(32)
    const conns = Array.from({ length: 24 }, () => new StreamXor(key, randomBytes(24)))
    const chunk = randomBytes(1024 * 1024)
    for (let i = 0; i < 96; i++) assert.equal(conns[i % conns.length]!.update(chunk).byteLength, chunk.byteLength)
    for (const c of conns) c.close()
  })

  it('30,000 connections in a row still work, and a closed cipher refuses bytes', () => {
    // @libp2p/pnet never returned its cipher slots: new ciphers failed after about 10,000
    const key = randomBytes(32)
    for (let i = 0; i < 30_000; i++) {
      const c = new StreamXor(key, randomBytes(24))
      c.update(randomBytes(64))
      c.close()
      c.close()
    }
    assert.throws(() => { const c = new StreamXor(key, randomBytes(24)); c.close(); c.update(new Uint8Array(1)) }, /closed/)
  })

  it('reads the 32 key bytes of a canonical swarm key and refuses one without them', () => {
    const file = parseSwarmKey(generateSwarmKey(), 'swarm.key')
    const hex = new TextDecoder().decode(file).split('\n')[2]
    assert.equal(Buffer.from(swarmKeyBytes(file)).toString('hex'), hex)
    assert.throws(() => swarmKeyBytes(new TextEncoder().encode('/key/swarm/psk/1.0.0/\n/base16/\nnothex')), /64-hex-digit/)
  })
})

describe('private network protector', () => {
  async function exchange (a: MessageStream, b: MessageStream, data: Uint8Array): Promise<Uint8Array> {
    const got: Uint8Array[] = []
    let n = 0
    const done = new Promise<void>(resolve => {
      b.addEventListener('message', (evt) => {
        const d = evt.data
        const bufs = d instanceof Uint8Array ? [d] : [...d]
        for (const buf of bufs) { got.push(Uint8Array.from(buf)); n += buf.byteLength }
        if (n >= data.byteLength) resolve()
      })
    })
    for (const part of chunks(data, 50_000)) a.send(part)
    await done
    return concat(got)
  }

  it('talks to @libp2p/pnet in both directions with the same key, so mixed meshes work', async () => {
    const psk = parseSwarmKey(generateSwarmKey(), 'swarm.key')
    const [rawA, rawB] = await streamPair()
    const [a, b] = await Promise.all([privateNetwork({ psk })().protect(rawA), preSharedKey({ psk })().protect(rawB)])
    const data = randomBytes(300_000)
    assert.deepEqual(await exchange(a, b, data), Uint8Array.from(data), 'ours → theirs')
    assert.deepEqual(await exchange(b, a, data), Uint8Array.from(data), 'theirs → ours')
    await Promise.all([a.close(), b.close()])
  })

  it('yields garbage, not plaintext, to a side with another key', async () => {
    const [rawA, rawB] = await streamPair()
    const [a, b] = await Promise.all([
      privateNetwork({ psk: parseSwarmKey(generateSwarmKey(), 'a.key') })().protect(rawA),
      privateNetwork({ psk: parseSwarmKey(generateSwarmKey(), 'b.key') })().protect(rawB)
    ])
    const data = new TextEncoder().encode('/multistream/1.0.0\n'.repeat(100))
    assert.notDeepEqual(await exchange(a, b, data), data)
    await Promise.all([a.close(), b.close()])
  })
})
