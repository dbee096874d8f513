/**
 * The control socket codec: a byte stream split into lines at random places (a line may never
 * outgrow its limit, whatever the chunking), and request/reply lines decoded or refused with one
 * clear error.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { LineDecoder, decodeReply, decodeRequest } from '../../src/node/control/codec.js'
import { announce, assertClearError, withinBudget } from './lib/oracle.js'
import { mutateBytes, mutatedJsonText } from './lib/mutate.js'
import { baseSeed, forEachCase, int, iterations, pick, randomBytes } from './lib/rand.js'
import type { Json } from './lib/mutate.js'

const REQUESTS: Json[] = [{ method: 'peers', params: { tag: 'xai' } }, { method: 'push', params: { spec: { command: ['true'] }, wait: 10 } }]
const REPLIES: Json[] = [{ result: { ok: 1 } }, { item: 'x' }, { end: true }, { error: { name: 'UsageError', message: 'bad', exitCode: 2 } }]

describe('fuzz: control socket codec', () => {
  it('LineDecoder: lines survive any chunking; an endless line is refused at its limit', async () => {
    const count = iterations(300)
    announce('control lines', baseSeed(), count)
    const max = 256
    await forEachCase('LineDecoder', count, (rand) => {
      const text = Buffer.concat([randomBytes(rand, int(rand, 600)), Buffer.from('\n')])
      const bytes = rand() < 0.5 ? Buffer.from(text) : Buffer.from(mutateBytes(Buffer.from('{"method":"id"}\n{"method":"x"}\n'), rand))
      const decoder = new LineDecoder(max)
      const whole = new LineDecoder(max)
      let lines: string[] = []
      let error: unknown
      try {
        for (let off = 0; off < bytes.length;) {
          const n = 1 + int(rand, 64)
          lines = lines.concat(decoder.push(bytes.subarray(off, off + n)))
          off += n
        }
      } catch (err) { error = err }
      let expected: string[] = []
      let expectedError: unknown
      try { expected = whole.push(bytes) } catch (err) { expectedError = err }
      if (expectedError != null || error != null) {
        assertClearError(error ?? expectedError, 'LineDecoder', ['LineTooLongError'])
        return
      }
      assert.deepEqual(lines, expected, 'chunking changed the lines')
      for (const line of lines) assert.ok(Buffer.byteLength(line) <= max * 3)
    })
  })

  for (const [name, decode, valid, errorName] of [
    ['request', decodeRequest, REQUESTS, 'BadRequestError'],
    ['reply', decodeReply, REPLIES, 'BadReplyError']
  ] as const) {
    it(`decode${name === 'request' ? 'Request' : 'Reply'}: a value or one clear ${errorName}`, async () => {
      const count = iterations(400)
      announce(`control ${name}`, baseSeed(), count)
      await forEachCase(name, count, async (rand) => {
        const line = rand() < 0.1 ? Buffer.from(randomBytes(rand, int(rand, 100))).toString('utf8') : mutatedJsonText(pick(rand, valid), rand)
        const outcome = await withinBudget(() => decode(line), name)
        if (!outcome.ok) assertClearError(outcome.error, name, [errorName])
      })
    })
  }

  // regression: the JSON error quoted the raw line, control characters and lone surrogates included
  it('a malformed line is refused in one printable line', () => {
    assert.throws(() => decodeReply('\u0000\n{"x":\ud800'), (err: Error) => { assertClearError(err, 'decodeReply', ['BadReplyError']); return true })
  })
})
