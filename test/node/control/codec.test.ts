import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { LineDecoder, decodeReply, decodeRequest, encodeLine } from '../../../src/node/control/codec.js'

describe('control codec', () => {
  it('splits lines across chunks and skips blank lines', () => {
    const decoder = new LineDecoder(100)
    assert.deepEqual(decoder.push(Buffer.from('{"a":1}\n\n{"b"')), ['{"a":1}'])
    assert.deepEqual(decoder.push(Buffer.from(':2}\n{"c":3}\n')), ['{"b":2}', '{"c":3}'])
  })

  it('keeps a multi-byte character split across chunks', () => {
    const bytes = Buffer.from('"héllo"\n')
    const decoder = new LineDecoder(100)
    assert.deepEqual(decoder.push(bytes.subarray(0, 3)), [])
    assert.deepEqual(decoder.push(bytes.subarray(3)), ['"héllo"'])
  })

  it('refuses a line over the limit, even without a newline', () => {
    assert.throws(() => new LineDecoder(8).push(Buffer.from('0123456789')), { name: 'LineTooLongError' })
    assert.throws(() => new LineDecoder(8).push(Buffer.from('0123456789\n')), { name: 'LineTooLongError' })
    assert.deepEqual(new LineDecoder(8).push(Buffer.from('01234567\n')), ['01234567'])
  })

  it('decodes requests and rejects malformed ones', () => {
    assert.deepEqual(decodeRequest('{"method":"peers","params":{"all":true}}'), { method: 'peers', params: { all: true } })
    assert.throws(() => decodeRequest('nope'), { name: 'BadRequestError', message: /not JSON/ })
    assert.throws(() => decodeRequest('[1]'), { name: 'BadRequestError', message: /JSON object/ })
    assert.throws(() => decodeRequest('{"method":3}'), { name: 'BadRequestError', message: /method/ })
  })

  it('decodes every reply kind', () => {
    assert.deepEqual(decodeReply('{"result":null}'), { result: null })
    assert.deepEqual(decodeReply('{"item":[1]}'), { item: [1] })
    assert.deepEqual(decodeReply('{"end":true}'), { end: true })
    assert.deepEqual(decodeReply('{"error":{"name":"X","message":"m","exitCode":3}}'), {
      error: { name: 'X', message: 'm', exitCode: 3 }
    })
    assert.throws(() => decodeReply('{"what":1}'), { name: 'BadReplyError' })
    assert.throws(() => decodeReply('{"error":"x"}'), { name: 'BadReplyError' })
  })

  it('encodes one message per line', () => {
    assert.equal(encodeLine({ method: 'a', params: { s: 'x\ny' } }), '{"method":"a","params":{"s":"x\\ny"}}\n')
  })
})
