import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { decodeFrame, encodeFrame } from '../../src/protocols/sync/messages.js'
import type { Frame } from '../../src/protocols/sync/messages.js'

const hello: Frame = { kind: 'hello', revocations: 3, buckets: Array.from({ length: 256 }, (_, i) => i % 2 === 0 ? '' : '0123456789abcdef') }

function raw (kind: number, body: string | Uint8Array): Uint8Array {
  const b = typeof body === 'string' ? new TextEncoder().encode(body) : body
  return Uint8Array.from([kind, ...b])
}

describe('sync frames', () => {
  it('round-trip every kind', () => {
    const frames: Frame[] = [
      hello,
      { kind: 'versions', versions: [{ id: 'a', attempt: 2, state: 'succeeded', updatedAt: 5 }] },
      { kind: 'wants', keys: [{ id: 'a', attempt: 2 }] },
      { kind: 'record', envelope: Uint8Array.from([1, 2, 3]) },
      { kind: 'revocations', list: Uint8Array.from([4, 5]) },
      { kind: 'end' }
    ]
    for (const f of frames) assert.deepEqual(decodeFrame(encodeFrame(f)), f)
  })

  it('refuse garbage with a clear ProtocolError', () => {
    const cases: Array<[Uint8Array, RegExp]> = [
      [new Uint8Array(0), /unknown kind none/],
      [raw(99, ''), /unknown kind 99/],
      [raw(1, '{not json'), /sync hello frame: not valid JSON/],
      [raw(1, JSON.stringify({ v: 1, revocations: 0, buckets: [] })), /hello frame: does not match its schema \(buckets\)/],
      [raw(1, JSON.stringify({ v: 1, revocations: -1, buckets: hello.kind === 'hello' ? hello.buckets : [] })), /\(revocations\)/],
      [raw(1, JSON.stringify({ v: 2, revocations: 0, buckets: [] })), /hello frame: does not match its schema/],
      [raw(2, JSON.stringify([['a', 1, 'exploded', 1]])), /versions frame: does not match its schema/],
      [raw(2, JSON.stringify([['a', 0, 'running', 1]])), /versions frame/],
      [raw(2, JSON.stringify(Array.from({ length: 401 }, () => ['a', 1, 'running', 1]))), /at most 400 items/],
      [raw(3, JSON.stringify([['x'.repeat(129), 1]])), /wants frame: does not match its schema/],
      [raw(3, JSON.stringify({ id: 'a' })), /wants frame/]
    ]
    for (const [bytes, message] of cases) {
      assert.throws(() => decodeFrame(bytes), (err: Error) => err.name === 'ProtocolError' && message.test(err.message), `expected ${String(message)}`)
    }
  })

  it('refuse a frame over its kind\'s limit', () => {
    assert.throws(() => decodeFrame(raw(2, new Uint8Array(128 * 1024 + 1))), { name: 'ProtocolError', message: 'sync versions frame: 131073 bytes is over the 131072 byte limit' })
    assert.throws(() => decodeFrame(raw(4, new Uint8Array(96 * 1024 + 1))), /sync record frame: 98305 bytes is over the 98304 byte limit/)
    assert.throws(() => decodeFrame(raw(6, 'x')), /sync end frame: 1 bytes is over the 0 byte limit/)
  })
})
