import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { formatCpuList, parseCpuList } from '../../../src/node/capabilities/index.js'

describe('parseCpuList', () => {
  it('expands ranges and single ids', () => {
    assert.deepEqual(parseCpuList('0-3,8,10-11'), [0, 1, 2, 3, 8, 10, 11])
  })

  it('tolerates the trailing newline and spaces sysfs files carry', () => {
    assert.deepEqual(parseCpuList(' 0-1 , 4\n'), [0, 1, 4])
  })

  it('reads an empty list (memory-only node) as no cpus', () => {
    assert.deepEqual(parseCpuList(''), [])
    assert.deepEqual(parseCpuList('\n'), [])
  })

  it('sorts and deduplicates', () => {
    assert.deepEqual(parseCpuList('4-5,0,5,1-2'), [0, 1, 2, 4, 5])
  })

  it('accepts a single cpu and a one-cpu range', () => {
    assert.deepEqual(parseCpuList('7'), [7])
    assert.deepEqual(parseCpuList('3-3'), [3])
  })

  for (const bad of ['abc', '0-', '-3', '1,,2', '0-3:2', '3-1', '1.5', '0-99999999', '0x1']) {
    it(`rejects ${JSON.stringify(bad)} naming the bad text`, () => {
      assert.throws(() => parseCpuList(bad), (err: Error) => {
        assert.equal(err.name, 'InvalidCpuListError')
        assert.match(err.message, /invalid cpulist/)
        return true
      })
    })
  }

  it('quotes the offending item, not the whole list', () => {
    assert.throws(() => parseCpuList('0-3,x7,8'), /"x7"/)
  })
})

describe('formatCpuList', () => {
  it('compacts consecutive ids into ranges', () => {
    assert.equal(formatCpuList([0, 1, 2, 3, 8, 10, 11]), '0-3,8,10-11')
  })

  it('ignores order and duplicates', () => {
    assert.equal(formatCpuList([5, 4, 4, 0]), '0,4-5')
  })

  it('formats nothing as the empty string', () => {
    assert.equal(formatCpuList([]), '')
  })

  it('round-trips with parseCpuList', () => {
    for (const list of ['0', '0-63', '0-3,8,10-11', '1,3,5,7', '0-1,64-127']) {
      assert.equal(formatCpuList(parseCpuList(list)), list)
    }
  })

  it('rejects negative or fractional ids', () => {
    assert.throws(() => formatCpuList([-1]), { name: 'InvalidCpuListError' })
    assert.throws(() => formatCpuList([1.5]), { name: 'InvalidCpuListError' })
  })
})
