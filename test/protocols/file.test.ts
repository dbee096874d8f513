import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromString } from '@libp2p/peer-id'
import { createFileSupply } from '../../src/node/dispatch/file-supply.js'
import { createMeshLibp2p } from '../../src/node/libp2p.js'
import { FileCache } from '../../src/node/runner/file-cache.js'
import { silentLogger } from '../../src/node/logger.js'
import { unsignedAuth } from '../../src/node/membership/index.js'
import { generateSwarmKey, parseSwarmKey } from '../../src/node/swarm-key.js'
import { FILE_PROTOCOL, fileProtocol } from '../../src/protocols/file/index.js'
import { frames } from '../../src/protocols/frames.js'
import { PUSH_PROTOCOL, push } from '../../src/protocols/push/index.js'
import type { StagedFile } from '../../src/node/dispatch/files.js'
import type { MeshLibp2p } from '../../src/node/libp2p.js'
import type { FileProtocol, HeldFiles } from '../../src/protocols/file/index.js'
import type { OfferSession, Push, TaskOffer } from '../../src/protocols/push/index.js'

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

function offer (dispatcher: string, id: string, staged: Array<{ dest: string, sha256: string, size: number, mode: number }>): TaskOffer {
  return {
    v: 1, id, group: id, attempt: 1, dispatcher, submittedAt: new Date().toISOString(), name: 't', command: ['true'], shell: false,
    env: {}, cwd: null, tags: [], resources: { cores: 1, memoryMB: 0, gpus: 0, numa: 'any' }, timeoutSec: 60,
    files: staged.map(f => ({ dest: f.dest, sha256: f.sha256, size: f.size, mode: f.mode }))
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

  /** A runner: push handler and file service over a real FileCache on disk; `served` logs every read. */
  async function runnerOn (node: MeshLibp2p, name: string, services: Array<{ stop: () => Promise<void> }>): Promise<{ cache: FileCache, files: FileProtocol, served: Array<{ whole: boolean }> }> {
    const cache = new FileCache(join(dir, name), { graceMs: 500 })
    const served: Array<{ whole: boolean }> = []
    const files = fileProtocol({
      files: {
        open: async (s) => {
          served.push({ whole: await cache.has(s) })
          return cache.open(s)
        }
      }
    })({ node, log })
    await files.start()
    const handler = {
      open: async (offer: TaskOffer): Promise<OfferSession> => {
        const missing: string[] = []
        for (const f of offer.files) if (!(await cache.has(f.sha256))) missing.push(f.sha256)
        return {
          reply: { status: 'reserved', numaNode: 0, missing },
          receive: async (s, size, chunks) => { await cache.receive(s, size, chunks) },
          commit: async () => ({ status: 'accepted', numaNode: 0 }),
          abort: () => {},
          extend: () => {}
        }
      }
    }
    const p = push({ handler, auth: unsignedAuth(), fetch: (peer, s, size, signal) => files.fetch(peerIdFromString(peer), s, size, signal) })({ node, log })
    await p.start()
    services.push(p, files)
    return { cache, files, served }
  }

  /** The dispatcher's bytes, 256 KiB every 20 ms (a slow link); `failFirst`: the first read breaks halfway. */
  function slowSource (data: Buffer, failFirst = false): (sha256: string) => AsyncIterable<Uint8Array> {
    let reads = 0
    return () => (async function * () {
      const broken = failFirst && reads++ === 0
      for (let off = 0; off < data.byteLength; off += 256 * 1024) {
        if (broken && off >= data.byteLength / 2) throw new Error('disk read failed')
        await new Promise(resolve => setTimeout(resolve, 20))
        yield data.subarray(off, off + 256 * 1024)
      }
    })()
  }

  /** A random input of `bytes` bytes staged on the dispatcher as `name`. */
  async function stage (name: string, bytes: number): Promise<{ data: Buffer, staged: StagedFile[] }> {
    const data = randomBytes(bytes)
    const src = join(dir, name)
    await writeFile(src, data)
    return { data, staged: [{ src, dest: name, sha256: sha(data), size: data.byteLength, mode: 0o644 }] }
  }

  /** The dispatcher's side of push: it only offers, it runs nothing. */
  const dispatcherOn = (node: MeshLibp2p): Push => push({ handler: { open: async () => { throw new Error('not a runner') } }, auth: unsignedAuth() })({ node, log })

  it('--all style: the second runner reads from the first while it still receives (cut-through); falls back when the peer fails', async () => {
    const [d, r1, r2] = nodes as [MeshLibp2p, MeshLibp2p, MeshLibp2p]
    const { data, staged } = await stage('input.bin', 4 * 1024 * 1024 + 5)
    const services: Array<{ stop: () => Promise<void> }> = []
    const client = dispatcherOn(d)
    const me = d.peerId.toString()
    try {
      const one = await runnerOn(r1, 'r1', services)
      const two = await runnerOn(r2, 'r2', services)
      const supply = { ...createFileSupply({ files: staged, self: me }), read: slowSource(data) }
      const [o1, o2] = await Promise.all([client.push(r1.peerId, offer(me, 't1', staged), supply, {}), client.push(r2.peerId, offer(me, 't2', staged), supply, {})])
      const outcomes = [o1, o2].map(o => ({ status: o.status, sent: o.sentFiles, fetched: o.fetchedFiles })).sort((x, y) => y.sent - x.sent)
      assert.deepEqual(outcomes, [{ status: 'accepted', sent: 1, fetched: 0 }, { status: 'accepted', sent: 0, fetched: 1 }], JSON.stringify([o1, o2]))
      const reads = [...one.served, ...two.served]
      assert.deepEqual(reads, [{ whole: false }], 'one read, of a file still arriving')
      assert.equal(sha(await readFile(one.cache.path(sha(data)))), sha(data))
      assert.equal(sha(await readFile(two.cache.path(sha(data)))), sha(data))

      // r1 holds it but no longer serves files: r2's fetch fails and the dispatcher sends it instead
      await rm(two.cache.root, { recursive: true })
      await one.files.stop()
      const again = createFileSupply({ files: staged, self: me })
      again.held(sha(data), r1.peerId.toString())
      const o3 = await client.push(r2.peerId, offer(me, 't3', staged), again, {})
      assert.deepEqual({ status: o3.status, sent: o3.sentFiles, fetched: o3.fetchedFiles }, { status: 'accepted', sent: 1, fetched: 0 })
      assert.equal(sha(await readFile(two.cache.path(sha(data)))), sha(data))
    } finally {
      for (const s of services) await s.stop()
    }
  })

  it('cut-through: when the first runner\'s transfer breaks, the one reading from it gets the file from the dispatcher; nothing half-written is kept', async () => {
    const [d, r1, r2] = nodes as [MeshLibp2p, MeshLibp2p, MeshLibp2p]
    const { data, staged } = await stage('broken.bin', 4 * 1024 * 1024 + 9)
    const services: Array<{ stop: () => Promise<void> }> = []
    const client = dispatcherOn(d)
    const me = d.peerId.toString()
    try {
      const one = await runnerOn(r1, 'r1b', services)
      const two = await runnerOn(r2, 'r2b', services)
      const supply = { ...createFileSupply({ files: staged, self: me }), read: slowSource(data, true) }
      const first = client.push(r1.peerId, offer(me, 'b1', staged), supply, {})
      // r2 asks once r1's transfer has begun, so r1 is its source
      await new Promise(resolve => setTimeout(resolve, 100))
      const second = client.push(r2.peerId, offer(me, 'b2', staged), supply, {})
      const [o1, o2] = await Promise.all([first, second])
      assert.equal(o1.status, 'rejected')
      assert.match(o1.status === 'rejected' ? o1.reason : '', /disk read failed/)
      assert.deepEqual({ status: o2.status, sent: o2.sentFiles, fetched: o2.fetchedFiles }, { status: 'accepted', sent: 1, fetched: 0 }, JSON.stringify(o2))
      assert.deepEqual(two.served.length + one.served.length, 1, 'r2 read from r1 first')
      assert.equal(sha(await readFile(two.cache.path(sha(data)))), sha(data))
      assert.equal(await one.cache.has(sha(data)), false)
      assert.deepEqual(await readdir(dirname(one.cache.path(sha(data)))), [], 'no temp file left on r1')
    } finally {
      for (const s of services) await s.stop()
    }
  })

  it('a runner that speaks only push 1.0.0 is sent every file by the dispatcher', async () => {
    const [d, r1] = nodes as [MeshLibp2p, MeshLibp2p]
    const { data, staged } = await stage('old.bin', 1024 * 1024 + 3)
    const cache = memCache()
    const handler = {
      open: async (o: TaskOffer): Promise<OfferSession> => ({
        reply: { status: 'reserved', numaNode: 0, missing: o.files.map(f => f.sha256) },
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
      const o = await client.push(r1.peerId, offer(me, 'old', staged), supply, {})
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
