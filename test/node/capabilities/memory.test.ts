import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { parseMemTotalMB } from '../../../src/node/capabilities/index.js'

describe('parseMemTotalMB', () => {
  it('reads /proc/meminfo MemTotal in MB', () => {
    assert.equal(parseMemTotalMB('MemTotal:       32768000 kB\nMemFree:        29491200 kB\n'), 32000)
  })

  it('reads the per-node form for the right node only', () => {
    const text = 'Node 1 MemTotal:         16384000 kB\nNode 1 MemFree:  100 kB\n'
    assert.equal(parseMemTotalMB(text, 1), 16000)
    assert.equal(parseMemTotalMB(text, 0), undefined)
  })

  it('does not take MemTotal from a node line when asked for /proc form', () => {
    assert.equal(parseMemTotalMB('Node 0 MemTotal: 1024 kB\n'), undefined)
  })

  it('rounds down to whole MB', () => {
    assert.equal(parseMemTotalMB('MemTotal: 2047 kB\n'), 1)
  })

  it('returns undefined without a MemTotal line', () => {
    assert.equal(parseMemTotalMB('MemFree: 10 kB\n'), undefined)
    assert.equal(parseMemTotalMB(''), undefined)
  })
})
