/**
 * The patches in patches/ (applied by `npm ci` through patch-package) change how often libp2p's
 * stream layers write, throw and copy. These tests pin the patched behaviour, so an upgrade that
 * drops a patch fails here instead of silently costing CPU, and check that flow control still works.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, describe, it } from 'node:test'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { LengthPrefixedDecoder, multiaddrConnectionPair } from '@libp2p/utils'
import { noiseCrypto } from '../../src/node/noise-crypto.js'
import type { ICryptoInterface } from '@chainsafe/libp2p-noise'
import type { Logger, MessageStream, MultiaddrConnection, Stream, StreamMuxer, Upgrader } from '@libp2p/interface'

const HEADER_BYTES = 12
const TYPE_DATA = 0
const TYPE_WINDOW_UPDATE = 1

/** Counts the yamux frames, by type, that arrive on `conn` (headers may straddle chunks). */
function frameCounter (conn: MultiaddrConnection): Map<number, number> {
  const counts = new Map<number, number>()
  let pending = Buffer.alloc(0)
  conn.addEventListener('message', (evt) => {
    pending = Buffer.concat([pending, evt.data.subarray()])
    while (pending.byteLength >= HEADER_BYTES) {
      const type = pending[1] as number
      // only a data frame's length field counts body bytes
      const frameBytes = HEADER_BYTES + (type === TYPE_DATA ? pending.readUInt32BE(8) : 0)
      if (pending.byteLength < frameBytes) return
      counts.set(type, (counts.get(type) ?? 0) + 1)
      pending = pending.subarray(frameBytes)
    }
  })
  return counts
}

async function muxedPair (): Promise<{ dialler: StreamMuxer, listener: StreamMuxer, toDialler: Map<number, number>, inbound: Promise<Stream> }> {
  const [outboundConn, inboundConn] = multiaddrConnectionPair()
  // frames the listener sends arrive on the dialler's connection
  const toDialler = frameCounter(outboundConn)
  const dialler = yamux()().createStreamMuxer(outboundConn)
  const listener = yamux()().createStreamMuxer(inboundConn)
  const inbound = new Promise<Stream>((resolve) => {
    listener.addEventListener('stream', (evt) => { resolve(evt.detail) }, { once: true })
  })
  return { dialler, listener, toDialler, inbound }
}

async function sendAll (stream: Stream, messages: Uint8Array[]): Promise<void> {
  for (const m of messages) {
    if (!stream.send(m)) await new Promise(resolve => stream.addEventListener('drain', resolve, { once: true }))
  }
  await stream.close()
}

async function readAll (stream: Stream): Promise<number> {
  let n = 0
  for await (const chunk of stream) n += chunk.byteLength
  return n
}

/** one end's Noise with our crypto, every decrypt call it makes recorded */
async function noiseEnd (calls: Array<{ list: boolean, dst: boolean }>): Promise<{ encrypter: ReturnType<ReturnType<typeof noise>>, peer: ReturnType<typeof peerIdFromPrivateKey> }> {
  const privateKey = await generateKeyPair('Ed25519')
  const log = Object.assign(() => {}, { enabled: false, error: () => {}, trace: () => {}, newScope: () => log }) as unknown as Logger
  const inner = noiseCrypto()
  const crypto: ICryptoInterface = {
    ...inner,
    chaCha20Poly1305Decrypt (ciphertext, nonce, ad, k, dst) {
      calls.push({ list: !(ciphertext instanceof Uint8Array), dst: dst != null })
      return inner.chaCha20Poly1305Decrypt(ciphertext, nonce, ad, k, dst)
    }
  }
  const peer = peerIdFromPrivateKey(privateKey)
  const encrypter = noise({ crypto })({
    peerId: peer,
    privateKey,
    logger: { forComponent: () => log },
    upgrader: { getStreamMuxers: () => new Map() } as unknown as Upgrader
  })
  return { encrypter, peer }
}

describe('dependency patches', () => {
  const muxers: StreamMuxer[] = []
  after(() => { for (const m of muxers) m.abort(new Error('test over')) })

  it('yamux: a receiver of many small messages sends a few window updates, not one per message', async () => {
    const { dialler, listener, toDialler, inbound } = await muxedPair()
    muxers.push(dialler, listener)
    const out = await dialler.createStream()
    const messages = Array.from({ length: 300 }, () => randomBytes(1024))
    const [, got] = await Promise.all([sendAll(out, messages), inbound.then(readAll)])
    assert.equal(got, 300 * 1024)
    const updates = toDialler.get(TYPE_WINDOW_UPDATE) ?? 0
    // 300 KiB through a 256 KiB initial window: the ACK plus one or two grants. Unpatched: ~300.
    assert.ok(updates >= 1 && updates <= 4, `window updates sent back: ${updates}`)
  })

  it('yamux: a transfer many windows long, read slowly, still completes (credit is granted in time)', async () => {
    const { dialler, listener, inbound } = await muxedPair()
    muxers.push(dialler, listener)
    const out = await dialler.createStream()
    const messages = Array.from({ length: 64 }, () => randomBytes(64 * 1024))
    const slowRead = inbound.then(async (s) => {
      let n = 0
      for await (const chunk of s) {
        n += chunk.byteLength
        // a reader that falls behind makes the stream pause and resume
        if (n % (512 * 1024) < chunk.byteLength) await new Promise(resolve => setTimeout(resolve, 20))
      }
      return n
    })
    const [, got] = await Promise.all([sendAll(out, messages), slowRead])
    assert.equal(got, 64 * 64 * 1024)
  })

  it('noise: a message that arrives as a list is decrypted from its parts, not first copied into one buffer', async () => {
    const [a, b] = multiaddrConnectionPair()
    const calls: Array<{ list: boolean, dst: boolean }> = []
    const dialler = await noiseEnd([])
    const listener = await noiseEnd(calls)
    const [outbound, inbound] = await Promise.all([
      dialler.encrypter.secureOutbound(a, { remotePeer: listener.peer }),
      listener.encrypter.secureInbound(b)
    ])
    const conn: MessageStream = inbound.connection
    let got = 0
    const all = new Promise<void>(resolve => {
      conn.addEventListener('message', (evt) => { got += evt.data.byteLength; if (got === 4 * 65_536) resolve() })
    })
    for (let i = 0; i < 4; i++) outbound.connection.send(randomBytes(65_536))
    await all
    const lists = calls.filter(c => c.list)
    assert.ok(lists.length > 0, 'no transport message arrived as a list: the test no longer covers the patch')
    // unpatched, Noise makes a whole copy of each such message only to offer it as `dst`
    assert.deepEqual(lists.filter(c => c.dst), [])
    a.abort(new Error('test over'))
    b.abort(new Error('test over'))
  })

  it('length-prefixed decoder: stops at an empty buffer without asking the length decoder', () => {
    let calls = 0
    // Noise's 2-byte length, which throws a RangeError when fewer than 2 bytes are buffered
    const decoder = new LengthPrefixedDecoder({
      lengthDecoder: (data) => {
        calls++
        if (data.byteLength < 2) throw new RangeError('Could not decode int16BE')
        return data.subarray(0, 2).reduce((n, b) => n * 256 + b, 0)
      },
      encodingLength: () => 2
    })
    const frame = (n: number): Uint8Array => Uint8Array.from([n >> 8, n & 0xff, ...randomBytes(n)])
    const two = Uint8Array.from([...frame(5), ...frame(300)])
    assert.deepEqual([...decoder.decode(two)].map(b => b.byteLength), [5, 300])
    assert.equal(calls, 2, 'one call per frame, none for the empty rest')
    // a frame split across chunks still waits for its rest
    const split = frame(10)
    assert.deepEqual([...decoder.decode(split.subarray(0, 1))], [])
    assert.deepEqual([...decoder.decode(split.subarray(1, 6))], [])
    assert.deepEqual([...decoder.decode(split.subarray(6))].map(b => b.byteLength), [10])
  })
})
