import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { setImmediate as nextTurn } from 'node:timers/promises'
import { describe, it } from 'node:test'
import { streamPair } from '@libp2p/utils'
import { privateNetwork } from '../../../src/node/pnet/index.js'
import { WriteBatch } from '../../../src/node/pnet/write-batch.js'
import { generateSwarmKey, parseSwarmKey } from '../../../src/node/swarm-key.js'
import type { MessageStream } from '@libp2p/interface'

/** a socket stand-in: records each write; takes more while `room` says so */
function sink (room = (): boolean => true): { writes: Uint8Array[], send: (data: Uint8Array) => boolean } {
  const writes: Uint8Array[] = []
  return { writes, send: (data) => { writes.push(Uint8Array.from(data)); return room() } }
}

const bytes = (...values: number[]): Uint8Array => Uint8Array.from(values)

describe('write batch', () => {
  it('sends the writes of one callback as one, in order, once its microtasks ran', async () => {
    const s = sink()
    const batch = new WriteBatch(s.send, (err) => { throw err })
    assert.equal(batch.write(bytes(1, 2)), true)
    assert.equal(batch.write(bytes(3)), true)
    assert.equal(batch.write(bytes(4, 5, 6)), true)
    assert.equal(s.writes.length, 0, 'nothing written inside the callback')
    // not held until the end of the event-loop turn: in a start storm a turn is long, and every
    // handshake message waited behind all the other I/O of its turn
    await Promise.resolve()
    assert.deepEqual(s.writes, [bytes(1, 2, 3, 4, 5, 6)], 'written once the microtasks queued before it ran')
    batch.write(bytes(7))
    await nextTurn()
    assert.deepEqual(s.writes.slice(1), [bytes(7)], 'a later callback is its own write')
  })

  it('sends a write that would take the batch over its size at once, after what was queued', () => {
    const s = sink()
    const batch = new WriteBatch(s.send, (err) => { throw err }, 8)
    batch.write(bytes(1, 2, 3))
    batch.write(bytes(4, 5, 6, 7, 8, 9, 10, 11, 12))
    assert.deepEqual(s.writes, [bytes(1, 2, 3), bytes(4, 5, 6, 7, 8, 9, 10, 11, 12)])
    assert.equal(batch.queuedBytes, 0)
  })

  it('writes through while the socket is full, says so, and batches again once it drained', async () => {
    let room = true
    const s = sink(() => room)
    const batch = new WriteBatch(s.send, (err) => { throw err })
    batch.write(bytes(1))
    room = false
    await nextTurn()
    assert.equal(s.writes.length, 1)
    assert.equal(batch.write(bytes(2)), false, 'full: the caller must wait for drain')
    assert.equal(s.writes.length, 2, 'written at once, not held back')
    room = true
    batch.drained()
    assert.equal(batch.write(bytes(3)), true)
    assert.equal(s.writes.length, 2)
    await nextTurn()
    assert.deepEqual(s.writes, [bytes(1), bytes(2), bytes(3)])
  })

  it('flushes on demand (a close) and drops the queue on discard (a reset)', async () => {
    const s = sink()
    const batch = new WriteBatch(s.send, (err) => { throw err })
    batch.write(bytes(1))
    assert.equal(batch.flush(), true)
    assert.deepEqual(s.writes, [bytes(1)])
    batch.write(bytes(2))
    batch.discard()
    await nextTurn()
    assert.deepEqual(s.writes, [bytes(1)], 'nothing written after a discard')
  })

  it('hands a deferred write\'s failure to onError instead of throwing it from the microtask', async () => {
    const errors: Error[] = []
    const batch = new WriteBatch(() => { throw new Error('Cannot write to a stream that is closed') }, (err) => { errors.push(err) })
    batch.write(bytes(1))
    await nextTurn()
    assert.deepEqual(errors.map(e => e.message), ['Cannot write to a stream that is closed'])
    assert.equal(batch.queuedBytes, 0)
  })
})

describe('private network connection writes', { timeout: 20_000 }, () => {
  /** `full`: the raw connection says it is full (send returns false) while this is true */
  async function pair (opts: { full?: () => boolean } = {}): Promise<{ a: MessageStream, b: MessageStream, rawA: MessageStream, rawWrites: () => number }> {
    const psk = parseSwarmKey(generateSwarmKey(), 'swarm.key')
    const [rawA, rawB] = await streamPair()
    let writes = 0
    const send = rawA.send.bind(rawA)
    rawA.send = (data) => { writes++; return send(data) && opts.full?.() !== true }
    const [a, b] = await Promise.all([privateNetwork({ psk })().protect(rawA), privateNetwork({ psk })().protect(rawB)])
    const before = writes
    return { a, b, rawA, rawWrites: () => writes - before }
  }

  function received (b: MessageStream, total: number): Promise<Uint8Array> {
    const got: Uint8Array[] = []
    let n = 0
    return new Promise(resolve => {
      b.addEventListener('message', (evt) => {
        for (const buf of evt.data instanceof Uint8Array ? [evt.data] : [...evt.data]) { got.push(Uint8Array.from(buf)); n += buf.byteLength }
        if (n >= total) resolve(Uint8Array.from(Buffer.concat(got)))
      })
    })
  }

  it('sends 50 small frames of one callback in one socket write, intact and in order', async () => {
    const { a, b, rawWrites } = await pair()
    const frames = Array.from({ length: 50 }, () => randomBytes(100))
    const got = received(b, 5000)
    for (const f of frames) a.send(f)
    assert.deepEqual(await got, Uint8Array.from(Buffer.concat(frames)))
    assert.equal(rawWrites(), 1)
    await Promise.all([a.close(), b.close()])
  })

  it('sends what is queued when libp2p closes the raw connection underneath (its muxer\'s last frames)', async () => {
    // libp2p's Connection.close() closes the muxer, then the raw connection, never this stream:
    // the muxer's last frames were still batched and the raw close made their write fail
    const { a, b, rawA } = await pair()
    const data = randomBytes(3000)
    const got = received(b, data.byteLength)
    let aborted: Error | undefined
    a.addEventListener('close', (evt) => { aborted = evt.error })
    a.send(data)
    await rawA.close()
    assert.deepEqual(await got, Uint8Array.from(data))
    await nextTurn()
    assert.equal(aborted, undefined, 'closed, not aborted')
    await b.close()
  })

  it('writes through while the raw connection is full and batches again after its drain', async () => {
    let full = false
    const { a, b, rawA, rawWrites } = await pair({ full: () => full })
    const got = received(b, 400)
    full = true
    a.send(randomBytes(100))
    await nextTurn()
    assert.equal(rawWrites(), 1)
    assert.equal(a.send(randomBytes(100)), false, 'full: the writer waits for drain')
    assert.equal(rawWrites(), 2, 'written at once')
    full = false
    rawA.dispatchEvent(new Event('drain'))
    a.send(randomBytes(100))
    a.send(randomBytes(100))
    assert.equal(rawWrites(), 2, 'batched again')
    await got
    assert.equal(rawWrites(), 3)
    await Promise.all([a.close(), b.close()])
  })

  it('sends what is queued before it closes', async () => {
    const { a, b } = await pair()
    const data = randomBytes(3000)
    const got = received(b, data.byteLength)
    a.send(data)
    await a.close()
    assert.deepEqual(await got, Uint8Array.from(data))
    await b.close()
  })
})
