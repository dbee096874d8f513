/**
 * The sync service between real libp2p nodes (TCP on loopback, one process): a new connection
 * starts a session, outsiders are refused, and a peer asking for sessions in a loop is cut off.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { createMeshLibp2p } from '../../src/node/libp2p.js'
import { silentLogger } from '../../src/node/logger.js'
import { TaskRecords } from '../../src/node/store/task-records.js'
import { recordChecker } from '../../src/protocols/results/index.js'
import { sync } from '../../src/protocols/sync/index.js'
import { waitFor } from '../helpers/daemons.js'
import { memDb } from '../helpers/mem-db.js'
import { sealed, signer } from './sync-helpers.js'
import type { MeshLibp2p } from '../../src/node/libp2p.js'
import type { Sync, SyncInit } from '../../src/protocols/sync/index.js'

const log = silentLogger()

describe('sync service over real libp2p', () => {
  const nodes: MeshLibp2p[] = []
  const services: Sync[] = []

  async function node (): Promise<MeshLibp2p> {
    const n = await createMeshLibp2p({ privateKey: await generateKeyPair('Ed25519'), listen: ['/ip4/127.0.0.1/tcp/0'], bootstrap: [], mdns: false })
    await n.start()
    nodes.push(n)
    return n
  }

  async function service (n: MeshLibp2p, store: TaskRecords, over: Partial<SyncInit> = {}): Promise<Sync> {
    const s = sync({ store, check: recordChecker().open, intervalMs: 3_600_000, connectDelayMs: 50, ...over })({ node: n, log })
    await s.start()
    services.push(s)
    return s
  }

  let a: MeshLibp2p
  const held = new TaskRecords(memDb(), log)

  before(async () => {
    a = await node()
    const runner = await signer()
    for (let i = 0; i < 5; i++) {
      const r = await sealed(runner, { id: `s${i}`, updatedAt: i })
      await held.put(r.record, r.envelope)
    }
  })

  after(async () => {
    for (const s of services) await s.stop()
    await Promise.all(nodes.map(async n => n.stop()))
  })

  it('a node that connects catches up without being asked', async () => {
    await service(a, held)
    const b = await node()
    const store = new TaskRecords(memDb(), log)
    await service(b, store)
    await b.dial(a.getMultiaddrs()[0]!)
    await waitFor('b caught up', async () => (await store.list()).length === 5, 10_000, 50)
  })

  it('refuses a peer that is not a member, both ways', async () => {
    const c = await node()
    const outsider = c.peerId.toString()
    const guarded = new TaskRecords(memDb(), log)
    await service(c, guarded, { authorise: p => p === a.peerId.toString() ? 'not a member of this mesh' : null })
    const probe = sync({ store: new TaskRecords(memDb(), log), check: recordChecker().open })({ node: a, log })
    // a refuses to start one with c when c is the outsider in a's eyes
    const strict = sync({ store: held, check: recordChecker().open, authorise: p => p === outsider ? 'has not presented a valid certificate' : null })({ node: a, log })
    await assert.rejects(strict.syncWith(c.peerId), { name: 'SyncRefusedError', message: `not syncing with ${outsider}: has not presented a valid certificate` })
    // c refuses a's session before any work: a sees the stream reset
    await a.dial(c.getMultiaddrs()[0]!)
    await assert.rejects(probe.syncWith(c.peerId))
    assert.equal((await guarded.list()).length, 0)
  })

  it('cuts off a peer asking for sessions in a loop, and serves others meanwhile', async () => {
    const d = await node()
    await service(d, new TaskRecords(memDb(), log), { inboundPerMinute: 3 })
    const looping = sync({ store: new TaskRecords(memDb(), log), check: recordChecker().open })({ node: a, log })
    await a.dial(d.getMultiaddrs()[0]!)
    let refused = 0
    for (let i = 0; i < 10; i++) await looping.syncWith(d.peerId).catch(() => { refused++ })
    assert.ok(refused >= 7, `refused ${refused} of 10`)
    const e = await node()
    await e.dial(d.getMultiaddrs()[0]!)
    const other = sync({ store: new TaskRecords(memDb(), log), check: recordChecker().open })({ node: e, log })
    // served in full (d may hold what a's own service sent it on connecting)
    const r = await other.syncWith(d.peerId)
    assert.equal(r.accepted, r.asked)
  })
})
