import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { closest, lineColumn, parseJsonText, syntaxErrorOffset } from '../../src/node/json.js'

/** The one-line problem parseJsonText hands its error factory (the parsed value when there is none). */
function problemOf (text: string, style?: Parameters<typeof parseJsonText>[2]): string {
  try {
    parseJsonText(text, (problem) => new Error(problem), style)
  } catch (err) {
    return (err as Error).message
  }
  assert.fail(`parsed: ${text}`)
}

describe('json', () => {
  it('parses valid JSON and never calls onError', () => {
    assert.deepEqual(parseJsonText('{"a": [1, true, null]}', () => assert.fail('onError called')), { a: [1, true, null] })
  })

  it('hands onError the one-line problem and the JSON.parse error as its cause', () => {
    const thrown = new Error('mine')
    let cause: unknown
    assert.throws(() => parseJsonText('{"a": }', (_problem, c) => { cause = c; return thrown }), (err) => err === thrown)
    assert.ok(cause instanceof SyntaxError)
  })

  it('says where the problem is, or that the text is empty or ends early', () => {
    assert.equal(problemOf(' \n'), 'not valid JSON (the file is empty)')
    assert.equal(problemOf('{\n  "a": 1\n  "b": 2\n}'), "not valid JSON at line 3 column 3: expected ',' or '}' after property value")
    assert.equal(problemOf('{"a": }'), 'not valid JSON at line 1 column 7: unexpected "}"')
    assert.equal(problemOf('{"a": [1,'), 'not valid JSON: it ends early, at line 1 column 10 (truncated?)')
    assert.equal(problemOf('{"a": 1\n'), 'not valid JSON: it ends early, at line 1 column 8 (truncated?)')
  })

  it('with trustEnginePosition and showChar, keeps the engine\'s wording at the end and shows the character the caller\'s way', () => {
    const style = { showChar: (ch: string) => `'${ch}'`, trustEnginePosition: true }
    assert.equal(problemOf('{"a": }', style), "not valid JSON at line 1 column 7: unexpected '}'")
    assert.equal(problemOf('{"a": 1\n', style), "not valid JSON at line 2 column 1: expected ',' or '}' after property value")
    assert.equal(problemOf('{"a": [1,', style), 'not valid JSON: it ends early, at line 1 column 10 (truncated?)')
  })

  it('syntaxErrorOffset finds the first error, text.length when the text ends early', () => {
    assert.equal(syntaxErrorOffset('{"a": tru}'), 9)
    assert.equal(syntaxErrorOffset('["\\u12x"]'), 6)
    assert.equal(syntaxErrorOffset('{"a": [1, 2'), 11)
    assert.equal(syntaxErrorOffset('[1] '), 4)
  })

  it('lineColumn counts from 1', () => {
    assert.deepEqual(lineColumn('ab\ncd', 0), { line: 1, column: 1 })
    assert.deepEqual(lineColumn('ab\ncd', 4), { line: 2, column: 2 })
  })

  it('closest suggests a known name within edit distance 2, ignoring case', () => {
    assert.equal(closest('bootstap', ['listen', 'bootstrap']), 'bootstrap')
    assert.equal(closest('MDNS', ['mdns', 'name']), 'mdns')
    assert.equal(closest('timeout', ['timeoutSec', 'retries']), undefined)
    assert.equal(closest('nme', []), undefined)
  })
})
