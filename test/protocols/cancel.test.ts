/**
 * The cancel protocol between two real libp2p nodes (TCP on loopback, behind a swarm key).
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { silentLogger } from '../../src/node/logger.js'
import { cancel } from '../../src/protocols/cancel/index.js'
import { connectedPair } from '../helpers/libp2p-pair.js'
import type { MeshLibp2p } from '../../src/node/libp2p.js'
import type { CancelHandler } from '../../src/protocols/cancel/index.js'

describe('cancel protocol over real libp2p', () => {
  let holder: MeshLibp2p, client: MeshLibp2p
  const log = silentLogger()

  before(async () => {
    ({ listener: holder, dialler: client } = await connectedPair())
  })

  after(async () => { await Promise.all([holder?.stop(), client?.stop()]) })

  /** the holder serving `handler`, and the client's side; both stopped after `fn` */
  const serving = async (handler: CancelHandler, fn: (request: (taskId: string, signal?: AbortSignal) => ReturnType<CancelHandler>) => Promise<void>): Promise<void> => {
    const side = cancel({ handler })({ node: holder, log })
    const asking = cancel({ handler: async () => ({ status: 'unknown', message: '' }) })({ node: client, log })
    await side.start()
    try {
      await fn(async (taskId, signal) => asking.request(holder.peerId, taskId, signal))
    } finally {
      await side.stop()
    }
  }

  it('answers a scripted cancel of many tasks on one holder, not only the first 8', async () => {
    // the holder resets a peer's cancel streams past 8 at once: the client waits its turn instead
    let atOnce = 0
    let most = 0
    await serving(async (id, from) => {
      atOnce++
      most = Math.max(most, atOnce)
      await new Promise(resolve => setTimeout(resolve, 20))
      atOnce--
      return { status: 'cancelled', message: `${id} from ${from.slice(-4)}` }
    }, async (request) => {
      const replies = await Promise.all(Array.from({ length: 30 }, async (_, i) => request(`t${i}`)))
      assert.deepEqual(replies.map(r => r.status), Array(30).fill('cancelled'))
    })
    assert.ok(most > 1 && most <= 8, `${most} requests at once on the holder`)
  })

  it('a request waiting for its turn gives up when its caller aborts', async () => {
    let release!: () => void
    const held = new Promise<void>(resolve => { release = resolve })
    await serving(async () => { await held; return { status: 'cancelled', message: '' } }, async (request) => {
      const busy = Array.from({ length: 4 }, async (_, i) => request(`busy${i}`))
      const controller = new AbortController()
      const waiting = request('waiting', controller.signal)
      controller.abort(new Error('caller gave up'))
      await assert.rejects(waiting, /caller gave up/)
      release()
      assert.deepEqual((await Promise.all(busy)).map(r => r.status), Array(4).fill('cancelled'))
    })
  })
})
