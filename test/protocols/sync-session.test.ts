/**
 * Sync sessions over an in-memory stream pair, with real signed envelopes and real stores: what
 * converges, what is refused, and what a hostile peer's frames end in.
 */
import assert from 'node:assert/strict'
import { before, describe, it } from 'node:test'
import { streamPair } from '@libp2p/utils'
import { silentLogger } from '../../src/node/logger.js'
import { TaskRecords } from '../../src/node/store/task-records.js'
import { frames } from '../../src/protocols/frames.js'
import { recordChecker } from '../../src/protocols/results/index.js'
import { MAX_FRAME_BYTES, MAX_WANTS } from '../../src/protocols/sync/constants.js'
import { digest } from '../../src/protocols/sync/digest.js'
import { encodeFrame } from '../../src/protocols/sync/messages.js'
import { Session } from '../../src/protocols/sync/session.js'
import { memDb } from '../helpers/mem-db.js'
import { sealed, signer } from './sync-helpers.js'
import type { Signer } from './sync-helpers.js'
import type { RevocationSync, SyncResult } from '../../src/protocols/sync/index.js'
import type { Stream } from '@libp2p/interface'

const log = silentLogger()

interface Side {
  store: TaskRecords
  member?: (signer: string) => string | null
  revocations?: RevocationSync
}

function side (over: Partial<Side> = {}): Side {
  return { store: new TaskRecords(memDb(), log), ...over }
}

function session (s: Side, stream: Stream): Session {
  return new Session({
    f: frames(stream, MAX_FRAME_BYTES),
    peer: 'peer',
    store: s.store,
    digest: () => digest(s.store.versions()),
    check: recordChecker(s.member).open,
    ...(s.revocations != null ? { revocations: s.revocations } : {}),
    log,
    signal: AbortSignal.timeout(20_000)
  })
}

async function finish (run: Promise<SyncResult>, stream: Stream): Promise<SyncResult> {
  try {
    const r = await run
    await stream.close()
    return r
  } catch (err) {
    stream.abort(err as Error)
    throw err
  }
}

/** One session, a initiating; returns both sides' outcomes. */
async function sync (a: Side, b: Side): Promise<[PromiseSettledResult<SyncResult>, PromiseSettledResult<SyncResult>]> {
  const [out, inn] = await streamPair()
  const [ra, rb] = await Promise.allSettled([finish(session(a, out).initiate(), out), finish(session(b, inn).respond(), inn)])
  return [ra, rb]
}

function versions (store: TaskRecords): string[] {
  return [...store.versions()].map(v => `${v.id}/${v.attempt}/${v.state}/${v.updatedAt}`).sort()
}

function ok (r: PromiseSettledResult<SyncResult>): SyncResult {
  if (r.status === 'rejected') throw r.reason
  return r.value
}

describe('sync sessions', () => {
  let runner: Signer, other: Signer, intruder: Signer

  before(async () => {
    [runner, other, intruder] = await Promise.all([signer(), signer(), signer()])
  })

  it('both sides end with the same records, older attempts included; a second session moves nothing', async () => {
    const a = side()
    const b = side()
    for (let i = 0; i < 30; i++) {
      const r = await sealed(runner, { id: `t${i}`, updatedAt: 1000 + i })
      if (i < 20) await a.store.put(r.record, r.envelope)
      if (i >= 10) await b.store.put(r.record, r.envelope)
    }
    // a holds t12 running, b its final record; b also holds a stale attempt of t15 that a lacks
    const running = await sealed(runner, { id: 'x', state: 'running', exitCode: null, finishedAt: null, updatedAt: 1 })
    const done = await sealed(runner, { id: 'x', updatedAt: 2 })
    await a.store.put(running.record, running.envelope)
    await b.store.put(done.record, done.envelope)
    const stale = await sealed(other, { id: 't15', attempt: 1, updatedAt: 5 })
    const retry = await sealed(runner, { id: 't15', attempt: 2, updatedAt: 6 })
    await b.store.put(retry.record, retry.envelope)
    await b.store.put(stale.record, stale.envelope)

    const [ra, rb] = await sync(a, b)
    assert.deepEqual(versions(a.store), versions(b.store))
    assert.equal((await a.store.get('x'))?.state, 'succeeded')
    assert.deepEqual((await a.store.attempts('t15')).map(r => r.attempt), [2, 1])
    assert.equal(ok(ra).accepted, ok(rb).sent)
    assert.equal(ok(rb).accepted, ok(ra).sent)
    assert.ok(ok(ra).accepted >= 12 && ok(rb).accepted >= 10, JSON.stringify([ok(ra), ok(rb)]))

    const [again] = await sync(b, a)
    assert.deepEqual(ok(again), { buckets: 0, asked: 0, received: 0, accepted: 0, refused: 0, sent: 0, revocations: null, more: false })
  })

  it('a forged or unauthorised record held by a peer ends the session and is not stored', async () => {
    // the intruder signs a record naming `runner` as the runner: authorise refuses it
    const forged = await sealed(intruder, { id: 'f1', runner: runner.id })
    const altered = await sealed(runner, { id: 'f2' })
    altered.envelope = Uint8Array.from(altered.envelope)
    altered.envelope[altered.envelope.length - 1]! ^= 0xff
    for (const bad of [forged, altered]) {
      const a = side()
      const b = side()
      // what a hostile peer would hold: bypasses its own checks
      await b.store.put(bad.record, bad.envelope)
      const [ra] = await sync(a, b)
      assert.equal(ra.status, 'rejected')
      assert.equal((ra.reason as Error).name, 'ProtocolError')
      assert.match((ra.reason as Error).message, /sync: peer relayed a record that fails verification: /)
      assert.equal(await a.store.get(bad.record.id), undefined)
    }
  })

  it('a record whose signer is not a member here is skipped, the session goes on', async () => {
    const a = side({ member: s => s === intruder.id ? `${s} is revoked` : null })
    const b = side()
    const outsider = await sealed(intruder, { id: 'o1' })
    const fine = await sealed(runner, { id: 'o2' })
    await b.store.put(outsider.record, outsider.envelope)
    await b.store.put(fine.record, fine.envelope)
    const [ra] = await sync(a, b)
    assert.equal(ok(ra).refused, 1)
    assert.equal(ok(ra).accepted, 1)
    assert.equal(await a.store.get('o1'), undefined)
    assert.equal((await a.store.get('o2'))?.state, 'succeeded')
  })

  it('the newer revocation list goes to the side that lacks it', async () => {
    const adopted: Uint8Array[] = []
    const revs = (version: number, list: string): RevocationSync => ({
      version: () => version,
      list: () => new TextEncoder().encode(list),
      adopt: async l => { adopted.push(l) }
    })
    const [ra, rb] = await sync(side({ revocations: revs(1, 'v1') }), side({ revocations: revs(4, 'v4') }))
    assert.equal(ok(ra).revocations, 'received')
    assert.equal(ok(rb).revocations, 'sent')
    assert.deepEqual(adopted.map(l => new TextDecoder().decode(l)), ['v4'])
    const [rc] = await sync(side({ revocations: revs(5, 'v5') }), side({ revocations: revs(4, 'v4') }))
    assert.equal(ok(rc).revocations, 'sent')
    assert.deepEqual(adopted.map(l => new TextDecoder().decode(l)), ['v4', 'v5'])
  })

  it(`asks for at most ${MAX_WANTS} records a session and says there is more`, async () => {
    const a = side()
    const b = side()
    const n = MAX_WANTS + 300
    for (let i = 0; i < n; i++) {
      const r = await sealed(runner, { id: `bulk-${i}`, updatedAt: i })
      await b.store.put(r.record, r.envelope)
    }
    const [first] = await sync(a, b)
    assert.equal(ok(first).accepted, MAX_WANTS)
    assert.equal(ok(first).more, true)
    // the newest first
    assert.ok(await a.store.get(`bulk-${n - 1}`) != null)
    const [second] = await sync(a, b)
    assert.equal(ok(second).accepted, 300)
    assert.equal(ok(second).more, false)
    assert.deepEqual(versions(a.store), versions(b.store))
  })
})

describe('sync sessions against a hostile peer', () => {
  /** Runs the initiator against a scripted responder that sends `script` after reading the hello. */
  async function against (script: (send: (bytes: Uint8Array) => Promise<void>) => Promise<void>): Promise<Error> {
    const a = side()
    const r = await sealed(await signer(), { id: 'h1' })
    await a.store.put(r.record, r.envelope)
    const [out, inn] = await streamPair()
    const hostile = frames(inn, 4 * 1024 * 1024)
    const run = finish(session(a, out).initiate(), out)
    await hostile.readBytes({ signal: AbortSignal.timeout(5000) })
    await script(async bytes => { await hostile.writeBytes(bytes, { signal: AbortSignal.timeout(5000) }) }).catch(() => {})
    const result = await Promise.allSettled([run])
    inn.abort(new Error('done'))
    assert.equal(result[0].status, 'rejected')
    return (result[0]).reason as Error
  }
  const differ = { kind: 'hello' as const, revocations: 0, buckets: Array.from({ length: 256 }, () => 'ffffffffffffffff') }

  it('an unknown frame kind', async () => {
    const err = await against(async send => { await send(Uint8Array.from([42, 1, 2])) })
    assert.equal(err.name, 'ProtocolError')
    assert.equal(err.message, 'sync frame: unknown kind 42')
  })

  it('a frame over the session limit, refused from its length prefix', async () => {
    const err = await against(async send => { await send(new Uint8Array(MAX_FRAME_BYTES + 1)) })
    assert.equal(err.name, 'ProtocolError')
    assert.match(err.message, /sync frame: frame of \d+ bytes is over the \d+ byte limit|sync frame: frame length prefix/)
  })

  it('a record nobody asked for', async () => {
    const stray = await sealed(await signer(), { id: 'stray' })
    const err = await against(async send => {
      await send(encodeFrame(differ))
      await send(encodeFrame({ kind: 'record', envelope: stray.envelope }))
    })
    assert.equal(err.message, 'sync: unexpected record frame')
  })

  it('versions from buckets that do not differ', async () => {
    const same = { kind: 'hello' as const, revocations: 1, buckets: Array.from({ length: 256 }, () => '') }
    const err = await against(async send => {
      await send(encodeFrame(same))
      await send(encodeFrame({ kind: 'versions', versions: [{ id: 'zzz', attempt: 1, state: 'running', updatedAt: 1 }] }))
    })
    // an empty digest differs from a's in h1's bucket only
    assert.equal(err.message, 'sync: peer listed task zzz from a bucket that does not differ')
  })
})
