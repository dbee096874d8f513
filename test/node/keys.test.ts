import assert from 'node:assert/strict'
import { chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { generateKeyPair, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { createKey, loadKey, loadOrCreateKey } from '../../src/node/keys.js'

describe('node key', () => {
  let dir: string
  let n = 0
  const fresh = (): string => join(dir, `k${++n}`, 'node.key')
  before(async () => { dir = await mkdtemp(join(tmpdir(), 'mesh-keys-')) })
  after(async () => { await rm(dir, { recursive: true, force: true }) })

  async function place (bytes: Uint8Array, mode = 0o600): Promise<string> {
    const path = fresh()
    await mkdir(join(path, '..'), { recursive: true })
    await writeFile(path, bytes)
    await chmod(path, mode)
    return path
  }

  /** loadKey and loadOrCreateKey both refuse, and the file is left exactly as it was. */
  async function assertRefused (path: string, message: RegExp): Promise<void> {
    const before = await readFile(path)
    for (const load of [loadKey, loadOrCreateKey]) {
      await assert.rejects(load(path), (err: Error & { exitCode?: number }) => {
        assert.equal(err.name, 'InvalidFileError')
        assert.equal(err.exitCode, 1)
        assert.ok(err.message.startsWith(`${path}: `), err.message)
        assert.match(err.message, message)
        assert.ok(!err.message.includes('\n'))
        return true
      })
    }
    assert.deepEqual(await readFile(path), before)
  }

  it('round-trips and keeps the peer id', async () => {
    const path = fresh()
    await mkdir(join(path, '..'))
    const key = await createKey(path)
    assert.equal(key.type, 'Ed25519')
    assert.equal((await stat(path)).mode & 0o777, 0o600)
    const loaded = await loadKey(path)
    assert.ok(loaded.equals(key))
    assert.equal(peerIdFromPrivateKey(loaded).toString(), peerIdFromPrivateKey(key).toString())
  })

  it('refuses to overwrite without force, replaces with force', async () => {
    const path = fresh()
    await mkdir(join(path, '..'))
    const first = await createKey(path)
    const bytes = await readFile(path)
    await assert.rejects(createKey(path), (err: Error) => {
      assert.equal(err.name, 'MeshError')
      assert.ok(err.message.includes(path))
      assert.match(err.message, /--force/)
      return true
    })
    assert.deepEqual(await readFile(path), bytes)
    const second = await createKey(path, { force: true })
    assert.ok(!second.equals(first))
    assert.ok((await loadKey(path)).equals(second))
  })

  it('loadOrCreateKey creates once, then loads the same key', async () => {
    const path = fresh()
    await mkdir(join(path, '..'))
    const a = await loadOrCreateKey(path)
    const b = await loadOrCreateKey(path)
    assert.equal(a.created, true)
    assert.equal(b.created, false)
    assert.ok(a.key.equals(b.key))
  })

  it('reports a missing key as a MeshError', async () => {
    await assert.rejects(loadKey(join(dir, 'nope', 'node.key')), { name: 'MeshError', message: /nope\/node\.key: no node key/ })
  })

  it('rejects random bytes without touching them', async () => {
    const valid = privateKeyToProtobuf(await generateKeyPair('Ed25519'))
    const path = await place(crypto.getRandomValues(new Uint8Array(valid.length)))
    await assertRefused(path, /not a valid mesh node key \(corrupt or truncated\); refusing to replace it — move it away or restore it$/)
  })

  it('rejects a truncated key', async () => {
    const valid = privateKeyToProtobuf(await generateKeyPair('Ed25519'))
    await assertRefused(await place(valid.subarray(0, 40)), /corrupt or truncated/)
    await assertRefused(await place(valid.subarray(0, valid.length - 1)), /corrupt or truncated/)
  })

  it('rejects an empty key file', async () => {
    await assertRefused(await place(new Uint8Array(0)), /corrupt or truncated/)
  })

  it('rejects trailing garbage and a damaged public half', async () => {
    const valid = privateKeyToProtobuf(await generateKeyPair('Ed25519'))
    await assertRefused(await place(new Uint8Array([...valid, 0x08, 0x01])), /corrupt or truncated/)
    const flipped = new Uint8Array(valid)
    flipped[flipped.length - 1] = (flipped.at(-1) ?? 0) ^ 0x01
    await assertRefused(await place(flipped), /corrupt or truncated/)
  })

  it('rejects a key that is not Ed25519', async () => {
    const other = privateKeyToProtobuf(await generateKeyPair('secp256k1'))
    await assertRefused(await place(other), /secp256k1.*Ed25519.*refusing to replace it/)
  })

  it('rejects a key others can read, like ssh', async () => {
    const path = await place(privateKeyToProtobuf(await generateKeyPair('Ed25519')), 0o644)
    await assert.rejects(loadKey(path), {
      name: 'InvalidFileError',
      message: `${path}: permissions 0644 are too open; run chmod 600 ${path}`
    })
    await assert.rejects(loadOrCreateKey(path), { name: 'InvalidFileError', message: /0644 are too open/ })
    await chmod(path, 0o400)
    await loadKey(path)
  })

  it('rejects a directory in place of the key', async () => {
    const path = fresh()
    await mkdir(path, { recursive: true })
    await assert.rejects(loadOrCreateKey(path), { name: 'InvalidFileError', message: /not a regular file/ })
  })
})
