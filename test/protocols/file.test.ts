import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromString } from '@libp2p/peer-id'
import { createFileSupply } from '../../src/node/dispatch/file-supply.js'
import { createMeshLibp2p } from '../../src/node/libp2p.js'
import { silentLogger } from '../../src/node/logger.js'
import { unsignedAuth } from '../../src/node/membership/index.js'
import { generateSwarmKey, parseSwarmKey } from '../../src/node/swarm-key.js'
import { FILE_PROTOCOL, fileProtocol } from '../../src/protocols/file/index.js'
import { frames } from '../../src/protocols/frames.js'
import { PUSH_PROTOCOL, push } from '../../src/protocols/push/index.js'
import type { MeshLibp2p } from '../../src/node/libp2p.js'
import type { FileProtocol, HeldFiles } from '../../src/protocols/file/index.js'
import type { OfferSession, TaskOffer } from '../../src/protocols/push/index.js'

const log = silentLogger()
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex')

/** A runner's cache in memory: whole files by hash, kept only when they hash right. */
function memCache (): HeldFiles & { files: Map<string, Buffer>, receive: (sha256: string, size: number, chunks: AsyncIterable<Uint8Array>) => Promise<void> } {
  const files = new Map<string, Buffer>()
  return {
    files,
    open: async (sha256) => {
      const f = files.get(sha256)
      return f == null ? undefined : { size: f.byteLength, read: () => (async function * () { for (let i = 0; i < f.byteLength; i += 300_000) yield f.subarray(i, i + 300_000) })() }
    },
    receive: async (sha256, size, chunks) => {
      const parts: Buffer[] = []
      for await (const c of chunks) parts.push(Buffer.from(c))
      const whole = Buffer.concat(parts)
      if (whole.byteLength !== size || sha(whole) !== sha256) throw new Error('file does not hash to its name')
      files.set(sha256, whole)
    }
  }
}

describe('file protocol and relayed staging (push 1.1.0)', () => {
  const nodes: MeshLibp2p[] = []
  let dir: string

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mesh-file-'))
    const swarmKey = parseSwarmKey(generateSwarmKey(), 'swarm.key')
    for (let i = 0; i < 3; i++) {
      const node = await createMeshLibp2p({ privateKey: await generateKeyPair('Ed25519'), listen: ['/ip4/127.0.0.1/tcp/0'], bootstrap: [], mdns: false, swarmKey })
      await node.start()
      nodes.push(node)
    }
    // a full mesh, as a formed swarm is: runners dial each other by peer id
    for (const a of nodes) for (const b of nodes) if (a !== b) await a.dial(b.getMultiaddrs()[0]!)
  })

  after(async () => {
    await Promise.all(nodes.map(async n => n.stop()))
    if (dir != null) await rm(dir, { recursive: true, force: true })
  })

  it('fetches a held file whole; names what is wrong when the holder lacks it or is busy', async () => {
    const [a, b] = nodes as [MeshLibp2p, MeshLibp2p]
    const cache = memCache()
    const data = randomBytes(3 * 1024 * 1024 + 17)
    cache.files.set(sha(data), data)
    let release: (() => void) | undefined
    const slow: HeldFiles = {
      open: async (s) => s === 'f'.repeat(64)
        ? { size: 1, read: () => (async function * () { await new Promise<void>(resolve => { release = resolve }); yield new Uint8Array(1) })() }
        : cache.open(s, '')
    }
    const server = fileProtocol({ files: slow, maxUploads: 1 })({ node: b, log })
    const client = fileProtocol({ files: memCache() })({ node: a, log })
    await server.start()
    try {
      const got = client.fetch(b.peerId, sha(data), data.byteLength)
      const parts: Buffer[] = []
      for await (const c of got) parts.push(Buffer.from(c))
      assert.equal(sha(Buffer.concat(parts)), sha(data))

      await assert.rejects(drain(client.fetch(b.peerId, 'e'.repeat(64), 5)), /does not hold it/)
      await assert.rejects(drain(client.fetch(b.peerId, sha(data), 5)), new RegExp(`holds ${data.byteLength} bytes under that hash, not 5`))

      // one upload at a time: a second request while the first is held is told "busy"
      const first = drain(client.fetch(b.peerId, 'f'.repeat(64), 1))
      await waitFor(() => release != null)
      await assert.rejects(drain(client.fetch(b.peerId, sha(data), data.byteLength)), /is busy/)
      release!()
      await first
      assert.equal(server.uploads, 0)
    } finally {
      await server.stop()
    }
  })

  it('survives a hostile request: junk, an oversized frame, a bad hash', async () => {
    const [a, b] = nodes as [MeshLibp2p, MeshLibp2p]
    const server = fileProtocol({ files: memCache() })({ node: b, log })
    await server.start()
    try {
      for (const junk of [new TextEncoder().encode('{"sha256":"../../etc/passwd"}'), new TextEncoder().encode('not json'), randomBytes(4096)]) {
        const stream = await a.dialProtocol(b.peerId, FILE_PROTOCOL)
        const f = frames(stream, 8192)
        await f.writeBytes(junk, {}).catch(() => {})
        await assert.rejects(f.readBytes({ signal: AbortSignal.timeout(5_000) }))
      }
      // still serving
      const client = fileProtocol({ files: memCache() })({ node: a, log })
      await assert.rejects(drain(client.fetch(b.peerId, 'e'.repeat(64), 5)), /does not hold it/)
    } finally {
      await server.stop()
    }
  })

  it('--all style: the second runner fetches from the first, not from the dispatcher; falls back when the peer fails', async () => {
    const [d, r1, r2] = nodes as [MeshLibp2p, MeshLibp2p, MeshLibp2p]
    const data = randomBytes(2 * 1024 * 1024 + 5)
    const src = join(dir, 'input.bin')
    await writeFile(src, data)
    const staged = [{ src, dest: 'input.bin', sha256: sha(data), size: data.byteLength, mode: 0o644 }]
    const services: Array<{ stop: () => Promise<void> }> = []
    const runnerOn = async (node: MeshLibp2p, files: FileProtocol, cache: ReturnType<typeof memCache>): Promise<void> => {
      const handler = {
        open: async (offer: TaskOffer): Promise<OfferSession> => ({
          reply: { status: 'reserved', numaNode: 0, missing: offer.files.map(f => f.sha256).filter(s => !cache.files.has(s)) },
          receive: cache.receive,
          commit: async () => ({ status: 'accepted', numaNode: 0 }),
          abort: () => {},
          extend: () => {}
        })
      }
      const p = push({ handler, auth: unsignedAuth(), fetch: (peer, s, size, signal) => files.fetch(peerIdFromString(peer), s, size, signal) })({ node, log })
      await p.start()
      services.push(p)
    }
    const c1 = memCache()
    const c2 = memCache()
    const f1 = fileProtocol({ files: c1 })({ node: r1, log })
    const f2 = fileProtocol({ files: c2 })({ node: r2, log })
    await f1.start()
    services.push(f1, f2)
    await runnerOn(r1, f1, c1)
    await runnerOn(r2, f2, c2)
    const client = push({ handler: { open: async () => { throw new Error('not a runner') } }, auth: unsignedAuth() })({ node: d, log })
    const me = d.peerId.toString()
    const offer = (id: string): TaskOffer => ({
      v: 1, id, group: id, attempt: 1, dispatcher: me, submittedAt: new Date().toISOString(), name: 't', command: ['true'], shell: false,
      env: {}, cwd: null, tags: [], resources: { cores: 1, memoryMB: 0, gpus: 0, numa: 'any' }, timeoutSec: 60,
      files: staged.map(f => ({ dest: f.dest, sha256: f.sha256, size: f.size, mode: f.mode }))
    })
    try {
      const supply = createFileSupply({ files: staged, self: me })
      const [o1, o2] = await Promise.all([client.push(r1.peerId, offer('t1'), supply, {}), client.push(r2.peerId, offer('t2'), supply, {})])
      const outcomes = [o1, o2].map(o => ({ status: o.status, sent: o.sentFiles, fetched: o.fetchedFiles })).sort((x, y) => y.sent - x.sent)
      assert.deepEqual(outcomes, [{ status: 'accepted', sent: 1, fetched: 0 }, { status: 'accepted', sent: 0, fetched: 1 }], JSON.stringify([o1, o2]))
      assert.equal(sha(c1.files.get(sha(data))!), sha(data))
      assert.equal(sha(c2.files.get(sha(data))!), sha(data))

      // r1 holds it but no longer serves files: r2's fetch fails and the dispatcher sends it instead
      c2.files.clear()
      await f1.stop()
      const again = createFileSupply({ files: staged, self: me })
      again.held(sha(data), r1.peerId.toString())
      const o3 = await client.push(r2.peerId, offer('t3'), again, {})
      assert.deepEqual({ status: o3.status, sent: o3.sentFiles, fetched: o3.fetchedFiles }, { status: 'accepted', sent: 1, fetched: 0 })
      assert.equal(sha(c2.files.get(sha(data))!), sha(data))
    } finally {
      for (const s of services) await s.stop()
    }
  })

  it('a runner that speaks only push 1.0.0 is sent every file by the dispatcher', async () => {
    const [d, r1] = nodes as [MeshLibp2p, MeshLibp2p]
    const data = randomBytes(1024 * 1024 + 3)
    const src = join(dir, 'old.bin')
    await writeFile(src, data)
    const staged = [{ src, dest: 'old.bin', sha256: sha(data), size: data.byteLength, mode: 0o644 }]
    const cache = memCache()
    const handler = {
      open: async (offer: TaskOffer): Promise<OfferSession> => ({
        reply: { status: 'reserved', numaNode: 0, missing: offer.files.map(f => f.sha256) },
        receive: cache.receive,
        commit: async () => ({ status: 'accepted', numaNode: 0 }),
        abort: () => {},
        extend: () => {}
      })
    }
    const serving = push({ handler, auth: unsignedAuth() })({ node: r1, log })
    await serving.start()
    // what an older daemon registers
    await r1.unhandle(PUSH_PROTOCOL)
    const client = push({ handler, auth: unsignedAuth() })({ node: d, log })
    const me = d.peerId.toString()
    try {
      const supply = createFileSupply({ files: staged, self: me })
      supply.held(sha(data), nodes[2]!.peerId.toString())
      const o = await client.push(r1.peerId, {
        v: 1, id: 'old', group: 'old', attempt: 1, dispatcher: me, submittedAt: new Date().toISOString(), name: 't', command: ['true'], shell: false,
        env: {}, cwd: null, tags: [], resources: { cores: 1, memoryMB: 0, gpus: 0, numa: 'any' }, timeoutSec: 60,
        files: staged.map(f => ({ dest: f.dest, sha256: f.sha256, size: f.size, mode: f.mode }))
      }, supply, {})
      assert.deepEqual({ status: o.status, sent: o.sentFiles }, { status: 'accepted', sent: 1 })
      assert.equal(sha(cache.files.get(sha(data))!), sha(data))
    } finally {
      await serving.stop()
    }
  })
})

async function drain (chunks: AsyncIterable<Uint8Array>): Promise<void> {
  for await (const _ of chunks) { /* discard */ }
}

async function waitFor (cond: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !cond(); i++) await new Promise(resolve => setTimeout(resolve, 10))
  assert.ok(cond(), 'condition never held')
}
