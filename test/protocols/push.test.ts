/**
 * The push protocol between two real libp2p nodes (TCP on loopback, in one process, behind a swarm
 * key): refused offers must not leak streams — past the per-protocol limit (64) a leak made every
 * push fail — a runner slower than the network must slow the sender down, not lose the push, and
 * (1.2.0) offers to one runner share a few kept streams that end when unused; (1.3.0) a runner of
 * an older version is offered read-only files without their mark.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { createHash, randomBytes } from 'node:crypto'
import { silentLogger } from '../../src/node/logger.js'
import { unsignedAuth } from '../../src/node/membership/index.js'
import { MAX_PUSHES_IN_FLIGHT_PER_RUNNER } from '../../src/protocols/push/constants.js'
import { PUSH_PROTOCOL, PUSH_PROTOCOL_1_1, PUSH_PROTOCOL_1_2, push, selfSupply } from '../../src/protocols/push/index.js'
import { connectedPair } from '../helpers/libp2p-pair.js'
import type { MeshLibp2p } from '../../src/node/libp2p.js'
import type { Stream } from '@libp2p/interface'
import type { OfferSession, Push, PushInit, TaskOffer } from '../../src/protocols/push/index.js'

function offer (id: string, dispatcher: string): TaskOffer {
  return {
    v: 1, id, group: id, attempt: 1, dispatcher, submittedAt: new Date().toISOString(), name: 't', command: ['true'], shell: false,
    env: {}, cwd: null, tags: [], resources: { cores: 1, memoryMB: 0, gpus: 0, numa: 'any' }, timeoutSec: 60, files: []
  }
}

describe('push protocol over real libp2p', () => {
  let runner: MeshLibp2p, dispatcher: MeshLibp2p
  let full = true
  const log = silentLogger()

  before(async () => {
    // connected once here, so that every test also runs alone (--test-name-pattern)
    ({ listener: runner, dialler: dispatcher } = await connectedPair())
  })

  after(async () => { await Promise.all([runner?.stop(), dispatcher?.stop()]) })

  it('a runner that refuses 70 offers still accepts the next one', async () => {
    const session = (reply: OfferSession['reply']): OfferSession => ({
      reply, receive: async () => {}, commit: async () => ({ status: 'accepted', numaNode: 0 }), abort: () => {}, extend: () => {}
    })
    const handler = { open: async () => full ? session({ status: 'rejected', reason: 'full' }) : session({ status: 'reserved', numaNode: 0, missing: [] }) }
    const serving = push({ handler, auth: unsignedAuth() })({ node: runner, log })
    const client = push({ handler, auth: unsignedAuth() })({ node: dispatcher, log })
    await serving.start()
    const me = dispatcher.peerId.toString()
    for (let i = 0; i < 70; i++) {
      const r = await client.push(runner.peerId, offer(`t${i}`, me), selfSupply(() => (async function * () {})()), {})
      assert.equal(r.status, 'rejected', JSON.stringify(r))
      assert.equal((r as { reason: string }).reason, 'full')
    }
    full = false
    const ok = await client.push(runner.peerId, offer('last', me), selfSupply(() => (async function * () {})()), {})
    assert.deepEqual(ok, { status: 'accepted', numaNode: 0, sentFiles: 0, fetchedFiles: 0 })
    await client.stop()
    await serving.stop()
  })

  it('a runner slower than the network still receives a 24 MiB file whole (backpressure)', async () => {
    // byteStream buffered whatever came and aborted past 4 MiB: a runner writing to a slow disk
    // lost every push of a big file ("the peer sent more than the stream buffer holds")
    const file = randomBytes(24 * 1024 * 1024)
    const sha256 = createHash('sha256').update(file).digest('hex')
    let got: { hash: string, bytes: number } | undefined
    const handler = {
      open: async (): Promise<OfferSession> => ({
        reply: { status: 'reserved', numaNode: 0, missing: [sha256] },
        receive: async (_sha: string, _size: number, chunks: AsyncIterable<Uint8Array>) => {
          const hash = createHash('sha256')
          let bytes = 0
          for await (const chunk of chunks) {
            hash.update(chunk)
            bytes += chunk.byteLength
            await new Promise(resolve => setTimeout(resolve, 30))
          }
          got = { hash: hash.digest('hex'), bytes }
        },
        commit: async () => ({ status: 'accepted', numaNode: 0 }),
        abort: () => {},
        extend: () => {}
      })
    }
    const serving = push({ handler, auth: unsignedAuth() })({ node: runner, log })
    const client = push({ handler, auth: unsignedAuth() })({ node: dispatcher, log })
    await serving.start()
    const me = dispatcher.peerId.toString()
    const o = { ...offer('big', me), files: [{ dest: 'f.bin', sha256, size: file.byteLength, mode: 0o644 }] }
    // the file in 4 MiB reads, as a fast disk hands it over
    const source = (): AsyncIterable<Uint8Array> => (async function * () {
      for (let i = 0; i < file.byteLength; i += 4 * 1024 * 1024) yield file.subarray(i, i + 4 * 1024 * 1024)
    })()
    const r = await client.push(runner.peerId, o, selfSupply(source), {})
    assert.deepEqual(r, { status: 'accepted', numaNode: 0, sentFiles: 1, fetchedFiles: 0 })
    assert.deepEqual(got, { hash: sha256, bytes: file.byteLength })
    await client.stop()
    await serving.stop()
  })

  describe('kept streams (1.2.0)', () => {
    const accepting = { open: async (): Promise<OfferSession> => ({ reply: { status: 'reserved', numaNode: 0, missing: [] }, receive: async () => {}, commit: async () => ({ status: 'accepted', numaNode: 0 }), abort: () => {}, extend: () => {} }) }
    const none = selfSupply(() => (async function * () {})())
    /** push streams open between the two nodes, as each side sees them */
    const streams = (protocol?: string): { dispatcher: number, runner: number } => {
      const count = (node: MeshLibp2p, peer: MeshLibp2p): number => node.getConnections(peer.peerId).flatMap(c => c.streams).filter(s => protocol != null ? s.protocol === protocol : s.protocol?.startsWith('/mesh/push/')).length
      return { dispatcher: count(dispatcher, runner), runner: count(runner, dispatcher) }
    }
    /** a runner serving push and a dispatcher's client; both stopped after `fn`, also when it fails */
    const withPush = async (fn: (client: Push) => Promise<void>, clientInit: Partial<PushInit> = {}, servingInit: Partial<PushInit> = {}): Promise<void> => {
      const serving = push({ handler: accepting, auth: unsignedAuth(), ...servingInit })({ node: runner, log })
      const client = push({ handler: accepting, auth: unsignedAuth(), ...clientInit })({ node: dispatcher, log })
      await serving.start()
      try {
        await fn(client)
      } finally {
        await client.stop()
        await serving.stop()
      }
    }
    const until = async (what: string, ok: () => boolean): Promise<void> => {
      for (let i = 0; i < 200 && !ok(); i++) await new Promise(resolve => setTimeout(resolve, 25))
      assert.ok(ok(), what)
    }

    it('sends offers one after the other over one stream, and a few at once over at most 4 kept ones', async () => {
      const me = dispatcher.peerId.toString()
      await withPush(async (client) => {
        for (let i = 0; i < 10; i++) {
          const r = await client.push(runner.peerId, offer(`seq${i}`, me), none, {})
          assert.equal(r.status, 'accepted', JSON.stringify(r))
          assert.deepEqual(streams(PUSH_PROTOCOL), { dispatcher: 1, runner: 1 }, `after push ${i + 1}`)
        }
        const many = await Promise.all(Array.from({ length: 8 }, async (_, i) => client.push(runner.peerId, offer(`par${i}`, me), none, {})))
        assert.deepEqual(many.map(r => r.status), Array(8).fill('accepted'))
        await until('at most 4 kept streams after 8 offers at once', () => streams().dispatcher === 4 && streams().runner === 4)
      })
      await until('stop() ends the kept streams on both sides', () => streams().dispatcher === 0 && streams().runner === 0)
    })

    it('queues a burst of offers to one runner instead of running into its per-peer stream limit', async () => {
      // a runner resets a peer's push streams past 16 at once: the 17th offer used to fail as an uncertain attempt
      const me = dispatcher.peerId.toString()
      let atOnce = 0
      let most = 0
      const counting = { open: async (): Promise<OfferSession> => { atOnce++; most = Math.max(most, atOnce); return { ...(await accepting.open()), commit: async () => { await new Promise(resolve => setTimeout(resolve, 20)); atOnce--; return { status: 'accepted', numaNode: 0 } } } } }
      await withPush(async (client) => {
        const results = await Promise.all(Array.from({ length: 40 }, async (_, i) => client.push(runner.peerId, offer(`burst${i}`, me), none, {})))
        assert.deepEqual(results.filter(r => r.status !== 'accepted'), [])
      }, {}, { handler: counting })
      assert.ok(most > 1 && most <= MAX_PUSHES_IN_FLIGHT_PER_RUNNER, `${most} offers at once on the runner`)
    })

    it('an offer waiting for its turn to a runner gives up when its caller aborts', async () => {
      const me = dispatcher.peerId.toString()
      let release!: () => void
      const held = new Promise<void>(resolve => { release = resolve })
      const slow = { open: async (): Promise<OfferSession> => ({ ...(await accepting.open()), commit: async () => { await held; return { status: 'accepted', numaNode: 0 } } }) }
      await withPush(async (client) => {
        const busy = Array.from({ length: MAX_PUSHES_IN_FLIGHT_PER_RUNNER }, async (_, i) => client.push(runner.peerId, offer(`busy${i}`, me), none, {}))
        const controller = new AbortController()
        const waiting = client.push(runner.peerId, offer('waiting', me), none, { signal: controller.signal })
        controller.abort(new Error('caller gave up'))
        const outcome = await waiting
        assert.equal(outcome.status, 'rejected')
        assert.match(outcome.status === 'rejected' ? outcome.reason : '', /caller gave up/)
        // it never reached the runner: a certain failure, not an attempt to retry as uncertain
        assert.equal('uncertain' in outcome, false)
        release()
        assert.deepEqual((await Promise.all(busy)).map(r => r.status), Array(MAX_PUSHES_IN_FLIGHT_PER_RUNNER).fill('accepted'))
      }, {}, { handler: slow })
    })

    it('ends a stream left unused for its idle time on both sides', async () => {
      await withPush(async (client) => {
        const r = await client.push(runner.peerId, offer('idle', dispatcher.peerId.toString()), none, {})
        assert.equal(r.status, 'accepted')
        assert.equal(streams().runner, 1)
        await until('the idle stream is gone on both sides', () => streams().dispatcher === 0 && streams().runner === 0)
      }, { streamIdleMs: 200 })
    })

    it('a runner that stops ends the kept streams waiting on it for a next offer', async () => {
      // else a stopped runner's streams hold the dispatcher's slots until PUSH_STREAM_WAIT_MS (a minute)
      const serving = push({ handler: accepting, auth: unsignedAuth() })({ node: runner, log })
      const client = push({ handler: accepting, auth: unsignedAuth() })({ node: dispatcher, log })
      const kept = (): Stream[] => dispatcher.getConnections(runner.peerId).flatMap(c => c.streams).filter(s => s.protocol === PUSH_PROTOCOL)
      await serving.start()
      try {
        assert.equal((await client.push(runner.peerId, offer('last', dispatcher.peerId.toString()), none, {})).status, 'accepted')
        assert.equal(kept().length, 1)
        await serving.stop()
        await until('the runner ended its side of the kept stream', () => kept().every(s => s.remoteWriteStatus === 'closed'))
      } finally {
        await client.stop()
        await serving.stop()
      }
    })

    it('opens a fresh stream when the runner reset the kept one', async () => {
      const me = dispatcher.peerId.toString()
      await withPush(async (client) => {
        assert.equal((await client.push(runner.peerId, offer('a', me), none, {})).status, 'accepted')
        for (const s of runner.getConnections(dispatcher.peerId).flatMap(c => c.streams)) if (s.protocol === PUSH_PROTOCOL) s.abort(new Error('runner went away'))
        await until('the reset reached the dispatcher', () => streams().dispatcher === 0)
        const r = await client.push(runner.peerId, offer('b', me), none, {})
        assert.deepEqual(r, { status: 'accepted', numaNode: 0, sentFiles: 0, fetchedFiles: 0 })
      })
    })

    it('a runner ends the stream at once after an offer it refuses unread', async () => {
      // a peer whose offers fail the signature check must not hold a runner's stream slot for the
      // minute a runner otherwise waits for the next offer
      const refusing = { sign: unsignedAuth().sign, verify: async () => 'not a member of this mesh' }
      await withPush(async (client) => {
        const r = await client.push(runner.peerId, offer('forged', dispatcher.peerId.toString()), none, {})
        assert.deepEqual(r, { status: 'rejected', reason: 'not a member of this mesh', sentFiles: 0 })
        await until('the runner closed the stream', () => streams().runner === 0)
      }, {}, { auth: refusing })
    })

    it('offers read-only files with their mark to a 1.3.0 runner, and without it to a 1.2.0 one (which keeps its stream)', async () => {
      const me = dispatcher.peerId.toString()
      const seen: TaskOffer[] = []
      const recording = { open: async (o: TaskOffer): Promise<OfferSession> => { seen.push(o); return accepting.open() } }
      const sha256 = 'a'.repeat(64)
      const withFile = (id: string): TaskOffer => ({ ...offer(id, me), files: [{ dest: 'in.img', sha256, size: 0, mode: 0o644, readOnly: true }, { dest: 'out.txt', sha256, size: 0, mode: 0o600 }] })
      await withPush(async (client) => {
        assert.equal((await client.push(runner.peerId, withFile('new'), none, {})).status, 'accepted')
        await runner.unhandle(PUSH_PROTOCOL)
        // the kept 1.3.0 stream goes on; a fresh one is 1.2.0
        for (const c of dispatcher.getConnections(runner.peerId)) for (const s of c.streams) if (s.protocol === PUSH_PROTOCOL) s.abort(new Error('runner upgraded down'))
        await until('no 1.3.0 stream left', () => streams(PUSH_PROTOCOL).dispatcher === 0 && streams(PUSH_PROTOCOL).runner === 0)
        for (let i = 0; i < 2; i++) assert.equal((await client.push(runner.peerId, withFile(`old${i}`), none, {})).status, 'accepted')
        assert.deepEqual(streams(PUSH_PROTOCOL_1_2), { dispatcher: 1, runner: 1 }, 'both offers over one kept 1.2.0 stream')
      }, {}, { handler: recording })
      assert.deepEqual(seen.map(o => o.files.map(f => f.readOnly)), [[true, undefined], [undefined, undefined], [undefined, undefined]])
      assert.deepEqual(seen[1]!.files.map(f => Object.keys(f).sort()), [['dest', 'mode', 'sha256', 'size'], ['dest', 'mode', 'sha256', 'size']])
    })

    it('closes each stream after one offer with a runner that speaks only 1.1.0', async () => {
      const me = dispatcher.peerId.toString()
      await withPush(async (client) => {
        // what an older daemon registers
        await runner.unhandle([PUSH_PROTOCOL, PUSH_PROTOCOL_1_2])
        for (let i = 0; i < 3; i++) {
          const r = await client.push(runner.peerId, offer(`old${i}`, me), none, {})
          assert.equal(r.status, 'accepted', JSON.stringify(r))
        }
        await until('no 1.1.0 stream stays open', () => streams(PUSH_PROTOCOL_1_1).dispatcher === 0 && streams(PUSH_PROTOCOL_1_1).runner === 0)
      })
    })
  })
})
