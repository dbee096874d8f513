/**
 * The logs protocol between two real libp2p nodes (TCP on loopback, behind a swarm key).
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { silentLogger } from '../../src/node/logger.js'
import { logs } from '../../src/protocols/logs/index.js'
import { MAX_LOG_STREAMS_PER_PEER } from '../../src/protocols/logs/constants.js'
import { connectedPair } from '../helpers/libp2p-pair.js'
import type { MeshLibp2p } from '../../src/node/libp2p.js'
import type { LogChunk } from '../../src/node/runner/log-reader.js'

describe('logs protocol over real libp2p', () => {
  let runner: MeshLibp2p, dispatcher: MeshLibp2p
  const log = silentLogger()

  before(async () => {
    ({ listener: runner, dialler: dispatcher } = await connectedPair())
  })

  after(async () => { await Promise.all([runner?.stop(), dispatcher?.stop()]) })

  it('follows the output of more tasks on one runner than its per-peer stream limit: the rest wait their turn', async () => {
    // a big runner's tasks, each followed while it runs: every follower holds a stream until its task ends
    const tasks = MAX_LOG_STREAMS_PER_PEER + 20
    let following = 0
    let most = 0
    let finish!: () => void
    const finished = new Promise<void>(resolve => { finish = resolve })
    const served = logs({
      provider: (id) => (async function * (): AsyncGenerator<LogChunk> {
        following++
        most = Math.max(most, following)
        try {
          yield { stream: 'stdout', data: new TextEncoder().encode(`${id} started\n`) }
          await finished
          yield { stream: 'stdout', data: new TextEncoder().encode(`${id} ended\n`) }
        } finally {
          following--
        }
      })()
    })({ node: runner, log })
    // started as in a daemon: its handler's options set the outbound stream limit too
    const client = logs({ provider: () => undefined })({ node: dispatcher, log })
    await served.start()
    await client.start()
    try {
      let started = 0
      const outputs = Array.from({ length: tasks }, async (_, i) => {
        let text = ''
        for await (const chunk of client.fetch(runner.peerId, `t${i}`, true, AbortSignal.timeout(60_000))) {
          text += new TextDecoder().decode(chunk.data)
          if (text.endsWith('started\n')) started++
        }
        return text
      })
      // the first turns are all taken before any task ends
      while (started < MAX_LOG_STREAMS_PER_PEER) await new Promise(resolve => setTimeout(resolve, 20))
      finish()
      const texts = await Promise.all(outputs)
      assert.deepEqual(texts, texts.map((_, i) => `t${i} started\nt${i} ended\n`), 'every follower saw its whole output')
      assert.ok(most <= MAX_LOG_STREAMS_PER_PEER, `${most} followed at once on the runner`)
    } finally {
      await Promise.all([served.stop(), client.stop()])
    }
  })
})
