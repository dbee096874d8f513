/**
 * The request/response messages of push, logs, cancel, join and roster, decoded the way a handler sees
 * them (JSON text from a peer): a validator never throws, answers in time, and what it accepts
 * has the shape the handler relies on.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { isCancelReply, isCancelRequest } from '../../src/protocols/cancel/index.js'
import { isJoinReply, isJoinRequest } from '../../src/protocols/join/index.js'
import { decodeLogFrame, isLogRequest } from '../../src/protocols/logs/frame.js'
import { createValidators, fromPeer, isOfferFrame } from '../../src/protocols/push/messages.js'
import { oneLine } from '../../src/protocols/peer-text.js'
import { isHave } from '../../src/protocols/roster/index.js'
import { announce, assertClearError, assertClearLine, withinBudget } from './lib/oracle.js'
import { mutateBytes, mutatedJsonText } from './lib/mutate.js'
import { baseSeed, forEachCase, iterations, pick, randomBytes } from './lib/rand.js'
import type { Json } from './lib/mutate.js'

const SHA = 'a'.repeat(64)
const OFFER: Json = {
  v: 1, id: 't1', group: 't1', attempt: 1, dispatcher: '12D3KooWabc', submittedAt: '2025-01-01T00:00:00.000Z', name: 'n',
  command: ['echo', 'hi'], shell: false, env: { A: 'b' }, cwd: null, tags: ['xai'],
  resources: { cores: 1, memoryMB: 0, gpus: 0, numa: 'any' }, timeoutSec: 60,
  files: [{ dest: 'a.txt', sha256: SHA, size: 3, mode: 0o644 }]
}

const validators = createValidators()

interface Target {
  name: string
  valid: readonly Json[]
  accepts: (v: unknown) => boolean
  /** what a handler relies on once a value is accepted */
  invariant: (v: unknown) => void
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

const TARGETS: Target[] = [
  {
    name: 'offer frame',
    valid: [{ body: JSON.stringify(OFFER), auth: 'c2ln', cert: null }, { body: '{}', auth: '', cert: 'Y2VydA==' }],
    accepts: isOfferFrame,
    invariant: v => { assert.ok(isPlainObject(v) && typeof v.body === 'string' && typeof v.auth === 'string') }
  },
  {
    name: 'task offer',
    valid: [OFFER, { ...(OFFER as object), command: 'echo hi', shell: true, files: [], resources: { cores: 2, memoryMB: 10, gpus: 1, numa: 1 } }],
    accepts: validators.offer,
    invariant: v => {
      assert.ok(isPlainObject(v))
      const o = v as { resources: { cores: number, memoryMB: number }, timeoutSec: number, files: Array<{ size: number }> }
      assert.ok(Number.isSafeInteger(o.resources.cores) && Number.isSafeInteger(o.resources.memoryMB), 'resources are safe integers')
      assert.ok(Number.isSafeInteger(o.timeoutSec) && o.timeoutSec >= 1, 'timeoutSec is a safe integer')
      assert.ok(o.files.every(f => Number.isSafeInteger(f.size)), 'file sizes are safe integers')
    }
  },
  {
    name: 'offer reply',
    valid: [{ status: 'rejected', reason: 'full' }, { status: 'reserved', numaNode: 0, missing: [SHA] }, { status: 'reserved', numaNode: null, missing: [] }],
    accepts: validators.offerReply,
    invariant: v => {
      const r = v as { status: string, reason?: unknown, missing?: unknown }
      assert.ok(r.status === 'rejected' ? typeof r.reason === 'string' : Array.isArray(r.missing))
    }
  },
  {
    name: 'final reply',
    valid: [{ status: 'accepted', numaNode: 1 }, { status: 'rejected', reason: 'no' }],
    accepts: validators.finalReply,
    invariant: v => { assert.ok(['accepted', 'rejected'].includes((v as { status: string }).status)) }
  },
  {
    name: 'log request',
    valid: [{ taskId: 't1', follow: false }],
    accepts: isLogRequest,
    invariant: v => { assert.ok(typeof (v as { taskId: unknown }).taskId === 'string') }
  },
  {
    name: 'cancel request',
    valid: [{ taskId: 't1' }],
    accepts: isCancelRequest,
    invariant: v => { assert.ok(typeof (v as { taskId: unknown }).taskId === 'string') }
  },
  {
    name: 'cancel reply',
    valid: [{ status: 'cancelled', message: 'task t1 cancelled' }],
    accepts: isCancelReply,
    invariant: v => { assert.equal(typeof (v as { message: unknown }).message, 'string') }
  },
  {
    name: 'join request',
    valid: [{ secret: 'x'.repeat(43), name: 'lab2' }],
    accepts: isJoinRequest,
    invariant: v => { assert.equal(typeof (v as { secret: unknown }).secret, 'string') }
  },
  {
    name: 'join reply',
    valid: [{ status: 'ok', cert: 'Y2VydA==' }, { status: 'refused', reason: 'invite already used' }],
    accepts: isJoinReply,
    invariant: v => { assert.ok(['ok', 'refused'].includes((v as { status: string }).status)) }
  },
  {
    name: 'roster have',
    valid: [{ v: 1, have: [] }, { v: 1, have: [['12D3KooWabc', 1796493310352], ['12D3KooWdef', 0]] }],
    accepts: isHave,
    invariant: v => {
      // the listener builds a Map from it and compares seqs
      const have = (v as { have: unknown[] }).have
      assert.ok(have.length <= 1024 && have.every(e => Array.isArray(e) && typeof e[0] === 'string' && Number.isSafeInteger(e[1])))
    }
  }
]

describe('fuzz: protocol messages', () => {
  for (const target of TARGETS) {
    it(`${target.name}: valid messages pass, mutated ones are decided without throwing`, async () => {
      for (const v of target.valid) assert.ok(target.accepts(JSON.parse(JSON.stringify(v))), `${target.name}: a valid message is refused: ${JSON.stringify(v)}`)
      const count = iterations(400)
      announce(`message ${target.name}`, baseSeed(), count)
      await forEachCase(target.name, count, async (rand) => {
        const text = mutatedJsonText(pick(rand, target.valid), rand)
        const outcome = await withinBudget(() => {
          let value: unknown
          try { value = JSON.parse(text) } catch { return false }
          const accepted = target.accepts(value)
          assert.equal(typeof accepted, 'boolean')
          if (accepted) target.invariant(value)
          return accepted
        }, target.name)
        assert.ok(outcome.ok, `${target.name} threw: ${String(outcome.ok ? '' : outcome.error)}`)
      })
    })
  }

  it('log frames: every frame decodes or is refused with one clear ProtocolError', async () => {
    const count = iterations(400)
    announce('log frame', baseSeed(), count)
    const valid = [Uint8Array.from([1, 104, 105]), Uint8Array.from([2]), Uint8Array.from([0, ...new TextEncoder().encode('{"found":true}')])]
    await forEachCase('log frame', count, async (rand) => {
      const frame = rand() < 0.2 ? randomBytes(rand, Math.floor(rand() * 32)) : mutateBytes(pick(rand, valid), rand)
      try {
        const decoded = decodeLogFrame(frame)
        assert.ok('end' in decoded ? typeof decoded.found === 'boolean' : decoded.data instanceof Uint8Array)
      } catch (err) {
        assertClearError(err, 'decodeLogFrame', ['ProtocolError'])
      }
    })
  })

  it('a peer\'s reason is shown as one clear line', () => {
    for (const text of ['ok', 'a\nb', '\u001b[31mred', 'x'.repeat(5000), '🦀'.repeat(300), 'x\ud800', '\u2028y']) {
      const line = oneLine(text)
      assertClearLine(line, 'oneLine')
      assert.ok(line.length <= 256 && !line.includes('\u001b'), line)
    }
    assert.equal(oneLine('\ud800'), '')
    assert.equal(fromPeer({ status: 'rejected', reason: 'full\n\u001b[2Jforged line' }).reason, 'full  [2Jforged line')
  })

  // regression: the wire schema took any integer, so a peer skipping the CLI could offer
  // timeoutSec 1e20 or memoryMB 1e308 (not safe integers) and claim NUMA node 1e300
  it('offer numbers are bounded like the task file\'s', () => {
    const offer = OFFER as Record<string, Json>
    const resources = offer.resources as Record<string, Json>
    for (const bad of [{ timeoutSec: 1e20 }, { timeoutSec: 604_801 }, { resources: { ...resources, memoryMB: 1e308 } }, { resources: { ...resources, cores: 100_000 } },
      { files: [{ dest: 'a', sha256: SHA, size: 2 ** 60, mode: 0 }] }]) {
      assert.equal(validators.offer({ ...offer, ...bad }), false, JSON.stringify(bad))
    }
    assert.equal(validators.offerReply({ status: 'reserved', numaNode: 1e300, missing: [] }), false)
  })
})
