/**
 * The per-peer bound on requests in flight (src/protocols/peer-gate.ts).
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { PeerGate } from '../../src/protocols/peer-gate.js'

/** lets every settled promise's callbacks run */
const settle = async (): Promise<void> => { await new Promise(resolve => setImmediate(resolve)) }

describe('peer gate', () => {
  it('lets `limit` requests in per peer, the next in order as each leaves', async () => {
    const gate = new PeerGate(2)
    const order: string[] = []
    const a1 = await gate.enter('a')
    const a2 = await gate.enter('a')
    const waiting = ['a3', 'a4'].map(async name => { const leave = await gate.enter('a'); order.push(name); return leave })
    // another peer is not held up by a's queue
    const b1 = await gate.enter('b')
    await settle()
    assert.deepEqual(order, [])
    a1()
    await settle()
    assert.deepEqual(order, ['a3'])
    a2()
    await settle()
    assert.deepEqual(order, ['a3', 'a4'])
    for (const leave of await Promise.all(waiting)) leave()
    b1()
    assert.equal(gate.peers, 0)
  })

  it('counts a turn once however often it is ended', async () => {
    const gate = new PeerGate(1)
    const first = await gate.enter('a')
    first()
    first()
    const second = await gate.enter('a')
    let third = false
    void gate.enter('a').then(() => { third = true })
    first()
    await settle()
    assert.equal(third, false, 'a second leave() of the first turn handed out a slot it no longer held')
    second()
    await settle()
    assert.equal(third, true)
  })

  it('an aborted wait leaves the queue and takes no turn', async () => {
    const gate = new PeerGate(1)
    const first = await gate.enter('a')
    const controller = new AbortController()
    const aborted = gate.enter('a', controller.signal)
    let nextIn = false
    void gate.enter('a').then(leave => { nextIn = true; leave() })
    controller.abort(new Error('gave up'))
    await assert.rejects(aborted, /gave up/)
    first()
    await settle()
    assert.equal(nextIn, true)
    assert.equal(gate.peers, 0)
    await assert.rejects(gate.enter('a', AbortSignal.abort(new Error('already'))), /already/)
    assert.equal(gate.peers, 0)
  })
})
