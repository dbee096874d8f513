/**
 * Bounds a flooding peer or client runs into: concurrent streams per peer on every mesh protocol,
 * concurrent control socket clients, and gossip records over their size limit.
 */
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { mkdtemp, rm } from 'node:fs/promises'
import { createConnection } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { createControlClient, createControlServer } from '../../src/node/control/index.js'
import { openJson, sealJson } from '../../src/protocols/envelope/index.js'
import { inboundLimit, limitPerPeer } from '../../src/protocols/inbound-limit.js'
import type { RecordKind } from '../../src/protocols/envelope/index.js'

describe('resource bounds', () => {
  it('a peer past its concurrent stream limit is reset at once; others are not affected', async () => {
    const limit = inboundLimit(2)
    let running = 0
    let finish!: () => void
    const gate = new Promise<void>(resolve => { finish = resolve })
    const handler = limitPerPeer(2, async () => { running++; await gate }, limit)
    const aborted: string[] = []
    const stream = (name: string): { abort: (err: Error) => void } => ({ abort: (err) => { aborted.push(`${name}: ${err.message}`) } })
    const from = (peer: string): { remotePeer: { toString: () => string } } => ({ remotePeer: { toString: () => peer } })
    const held = [handler(stream('a1'), from('a')), handler(stream('a2'), from('a')), handler(stream('b1'), from('b'))]
    await handler(stream('a3'), from('a'))
    assert.deepEqual(aborted, ['a3: more than 2 concurrent streams from this peer'])
    assert.equal(running, 3)
    assert.equal(limit.active, 3)
    finish()
    await Promise.all(held)
    // released: the peer may open streams again, and no per-peer entry is left behind
    assert.equal(limit.active, 0)
    assert.ok(limit.acquire('a') != null)
  })

  it('the control socket tells clients past its limit so in one line and serves again once they leave', async () => {
    const home = await mkdtemp(join(tmpdir(), 'mesh-limits-'))
    const path = join(home, 'control.sock')
    const server = createControlServer({
      path,
      maxClients: 2,
      handlers: {
        ping: async () => 'pong',
        wait: async (_p, { signal }) => { await once(signal, 'abort').catch(() => {}); return null }
      }
    })
    await server.start()
    try {
      const holders = [createConnection({ path }), createConnection({ path })]
      for (const h of holders) { await once(h, 'connect'); h.write('{"method":"wait"}\n') }
      await sleep(50)
      await assert.rejects(createControlClient({ path, home }).call('ping'), (err: Error & { exitCode?: number }) => {
        assert.match(err.message, /^the mesh daemon is already serving 2 clients at once \(each waiting `mesh push` or `mesh logs -f` holds one\)/)
        assert.equal(err.exitCode, 1)
        return true
      })
      // a client that sends nothing is refused and closed as well
      const extra = createConnection({ path })
      extra.on('error', () => {})
      const refusal: Buffer[] = []
      extra.on('data', (chunk: Buffer) => { refusal.push(chunk) })
      await once(extra, 'close')
      assert.match(Buffer.concat(refusal).toString(), /"name":"DaemonBusyError"/)
      for (const h of holders) h.destroy()
      await sleep(50)
      assert.equal(await createControlClient({ path, home }).call('ping'), 'pong')
    } finally {
      await server.stop()
      await rm(home, { recursive: true, force: true })
    }
  })

  it('a gossip record over its size limit is refused before it is opened', async () => {
    const key = await generateKeyPair('Ed25519')
    const kind: RecordKind = { domain: 'mesh-heartbeat', payloadType: new TextEncoder().encode('/mesh/heartbeat/1.0.0'), maxBytes: 16 * 1024 }
    const big = await sealJson({ ...kind, maxBytes: 1e6 }, { pad: 'x'.repeat(20_000) }, key)
    await assert.rejects(openJson(kind, big), { name: 'InvalidEnvelopeError', message: /over the 16384 byte limit/ })
  })
})
