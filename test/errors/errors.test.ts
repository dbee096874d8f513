import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { toError } from '../../src/errors.js'

describe('toError', () => {
  it('returns an Error as it is', () => {
    const err = new RangeError('x')
    assert.equal(toError(err), err)
  })

  it('wraps anything else, keeping it as the cause', () => {
    const e = toError('plain text')
    assert.equal(e.message, 'plain text')
    assert.equal(e.cause, 'plain text')
    const closed = toError(new Event('close'))
    assert.match(closed.message, /stream ended \(close\)/)
  })

  it('never throws, even for a value String() cannot convert', () => {
    const bare = Object.create(null) as object
    assert.throws(() => `${bare as unknown as string}`)
    const e = toError(bare)
    assert.equal(e.message, 'a non-error value was thrown')
    assert.equal(e.cause, bare)
  })
})
