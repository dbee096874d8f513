/**
 * Length-prefixed frames over a real (in-memory) libp2p stream pair: whatever the peer writes —
 * garbage, truncated frames, lying length prefixes, nothing at all, an endless trickle — a read
 * ends with a frame or a one-line ProtocolError, an over-limit frame is refused from its prefix
 * alone, and a silent peer is cut off by the deadline.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { streamPair } from '@libp2p/utils'
import { frames, maxPrefixBytes } from '../../src/protocols/frames.js'
import { announce, assertClearError, withinBudget } from './lib/oracle.js'
import { mutateBytes, mutatedJsonText } from './lib/mutate.js'
import { baseSeed, forEachCase, int, iterations, pick, randomBytes } from './lib/rand.js'
import type { Rand } from './lib/rand.js'
import type { Json } from './lib/mutate.js'
import type { Stream } from '@libp2p/interface'

const MAX = 4096
/** deadline of a read that may wait on a silent peer: short, the cases are many */
const SHORT_MS = 100
/** deadline of a read that must fail on its own, well before this */
const LONG_MS = 3_000

const VALID: Json = { taskId: 'task-1', follow: true, n: [1, 2, 3] }
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

function varint (n: number): number[] {
  const out: number[] = []
  let v = n
  while (v >= 0x80) { out.push((v % 0x80) | 0x80); v = Math.floor(v / 0x80) }
  out.push(v)
  return out
}

function frame (body: Uint8Array): Uint8Array {
  return Uint8Array.from([...varint(body.byteLength), ...body])
}

interface Scenario {
  /** what the peer sends */
  bytes: Uint8Array
  /** whether it closes its write side afterwards or leaves the reader waiting */
  close: boolean
  /** the read must fail on its own, long before LONG_MS */
  failsFast?: boolean
}

function scenario (rand: Rand): Scenario {
  const valid = new TextEncoder().encode(JSON.stringify(VALID))
  switch (int(rand, 9)) {
    case 0: return { bytes: randomBytes(rand, int(rand, 64)), close: true }
    case 1: return { bytes: mutateBytes(frame(valid), rand), close: true }
    case 2: return { bytes: frame(new TextEncoder().encode(mutatedJsonText(VALID, rand))), close: true }
    // a prefix over the limit, then nothing: refused from the prefix, no waiting for the body
    case 3: return { bytes: Uint8Array.from(varint(MAX + 1 + int(rand, 2 ** 40))), close: false, failsFast: true }
    // continuation bytes forever (a varint that never ends)
    case 4: return { bytes: new Uint8Array(16 + int(rand, 4096)).fill(0x80 | int(rand, 128)), close: false, failsFast: true }
    // a non-minimal prefix: padding 0x80s before the last byte
    case 5: return { bytes: Uint8Array.from([0x81, ...new Array<number>(maxPrefixBytes(MAX) + int(rand, 4)).fill(0x80), 0x00]), close: false, failsFast: true }
    // truncated frame, peer closes
    case 6: return { bytes: frame(valid).slice(0, int(rand, valid.byteLength)), close: true }
    // silent or half-sent frame, peer stays: only the deadline ends it
    case 7: return { bytes: frame(valid).slice(0, int(rand, valid.byteLength)), close: false }
    default: return { bytes: frame(pick(rand, [new Uint8Array(0), valid, new Uint8Array(MAX).fill(0x7b)])), close: rand() < 0.5 }
  }
}

async function send (stream: Stream, s: Scenario): Promise<void> {
  // in slices, as a network delivers them
  for (let off = 0; off < s.bytes.byteLength; off += 1000) {
    if (!stream.send(s.bytes.subarray(off, off + 1000))) await stream.onDrain()
  }
  if (s.close) await stream.close()
}

describe('fuzz: length-prefixed frames', () => {
  it('every read ends in a frame or one clear ProtocolError, in time', async () => {
    const count = iterations(150)
    announce('frames', baseSeed(), count)
    const seen = { ok: 0, rejected: 0 }
    await forEachCase('frames', count, async (rand) => {
      const s = scenario(rand)
      const [outbound, inbound] = await streamPair()
      try {
        void send(outbound, s).catch(() => {})
        const deadline = s.failsFast === true || s.close ? LONG_MS : SHORT_MS
        const started = Date.now()
        const outcome = await withinBudget(async () => frames(inbound, MAX).readJson(isObject, 'test message', { signal: AbortSignal.timeout(deadline) }), 'readJson')
        if (outcome.ok) {
          assert.ok(isObject(outcome.value))
          seen.ok++
          return
        }
        seen.rejected++
        assertClearError(outcome.error, 'readJson', ['ProtocolError'])
        assert.match((outcome.error as Error).message, /^test message: /)
        if (s.failsFast === true) assert.ok(Date.now() - started < LONG_MS / 2, `refused only after ${Date.now() - started} ms: ${(outcome.error as Error).message}`)
      } finally {
        outbound.abort(new Error('done'))
        inbound.abort(new Error('done'))
      }
    })
    assert.ok(seen.ok > 0 && seen.rejected > 0, JSON.stringify(seen))
  })

  it('readParts gives a frame as the parts it arrived in, in order; joined they are the frame', async () => {
    const [outbound, inbound] = await streamPair()
    try {
      const body = Uint8Array.from({ length: 3500 }, (_, i) => i % 251)
      void send(outbound, { bytes: Uint8Array.from([...frame(body), ...frame(Uint8Array.of(7))]), close: true })
      const f = frames(inbound, MAX)
      const parts = await f.readParts({ signal: AbortSignal.timeout(LONG_MS) }, 'file chunk')
      assert.ok(parts.length > 1, `sent in 1000-byte slices, read as ${parts.length} part(s)`)
      assert.deepEqual(Buffer.concat(parts), Buffer.from(body))
      assert.deepEqual(await f.readBytes({ signal: AbortSignal.timeout(LONG_MS) }), Uint8Array.of(7), 'the next frame is intact')
    } finally {
      outbound.abort(new Error('done'))
      inbound.abort(new Error('done'))
    }
  })

  it('refuses an over-limit frame from its prefix, before buffering the body', async () => {
    const [outbound, inbound] = await streamPair()
    // the prefix announces MAX + 1 bytes; the body is only trickled in a byte at a time
    outbound.send(Uint8Array.from(varint(MAX + 1)))
    const started = Date.now()
    await assert.rejects(frames(inbound, MAX).readBytes({ signal: AbortSignal.timeout(LONG_MS) }, 'chunk'), (err: Error) => {
      assertClearError(err, 'over limit', ['ProtocolError'])
      assert.equal(err.message, `chunk: frame of ${MAX + 1} bytes is over the ${MAX} byte limit`)
      return true
    })
    assert.ok(Date.now() - started < LONG_MS / 2)
    outbound.abort(new Error('done'))
  })

  it('cuts off an endless length prefix after a few bytes', async () => {
    const [outbound, inbound] = await streamPair()
    outbound.send(new Uint8Array(64 * 1024).fill(0xff))
    const started = Date.now()
    await assert.rejects(frames(inbound, MAX).readBytes({ signal: AbortSignal.timeout(LONG_MS) }), /frame: frame length prefix is longer than 2 bytes/)
    assert.ok(Date.now() - started < LONG_MS / 2, `took ${Date.now() - started} ms`)
    outbound.abort(new Error('done'))
  })

  it('a silent peer ends in a timeout error, a closed one in an end-of-stream error', async () => {
    const [outbound, inbound] = await streamPair()
    await assert.rejects(frames(inbound, MAX).readBytes({ signal: AbortSignal.timeout(50) }, 'offer'), { name: 'ProtocolError', message: 'offer: timed out waiting for the peer' })
    await outbound.close()
    await assert.rejects(frames(inbound, MAX).readBytes({ signal: AbortSignal.timeout(LONG_MS) }, 'offer'), { name: 'ProtocolError', message: 'offer: the peer closed the stream before a whole frame' })
  })
})
