import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { parseBootstrapList, parseDuration, parseMultiaddrList, parseName, parseTags } from '../../src/node/parse.js'

function assertUsage (fn: () => unknown, message: RegExp): void {
  assert.throws(fn, (err: Error & { exitCode?: number }) => {
    assert.equal(err.name, 'UsageError')
    assert.equal(err.exitCode, 2)
    assert.ok(!err.message.includes('\n'))
    assert.match(err.message, message)
    return true
  })
}

describe('parseTags', () => {
  it('splits, trims, dedupes and sorts repeated and comma-separated values', () => {
    assert.deepEqual(parseTags(['xai, junos', 'gpu,xai', ' site:par1 ']), ['gpu', 'junos', 'site:par1', 'xai'])
    assert.deepEqual(parseTags('b,a'), ['a', 'b'])
    assert.deepEqual(parseTags('a,,b,'), ['a', 'b'])
    assert.deepEqual(parseTags(undefined), [])
    assert.deepEqual(parseTags([]), [])
    assert.deepEqual(parseTags(['GPU', 'x_1.2-3']), ['GPU', 'x_1.2-3'])
  })

  it('rejects bad tags naming them', () => {
    assertUsage(() => parseTags('ok,x y'), /^invalid tag 'x y': /)
    assertUsage(() => parseTags(['-lead']), /invalid tag '-lead'/)
    assertUsage(() => parseTags(['a/b']), /invalid tag 'a\/b'/)
    assertUsage(() => parseTags(['a'.repeat(64)]), /invalid tag 'a{64}'/)
    assert.deepEqual(parseTags(['a'.repeat(63)]), ['a'.repeat(63)])
  })
})

describe('parseMultiaddrList', () => {
  it('accepts listen addresses with /tcp/<port>', () => {
    assert.deepEqual(parseMultiaddrList(['/ip4/0.0.0.0/tcp/7420', ' /ip6/::/tcp/0 ', '/ip4/0.0.0.0/tcp/7420'], '--listen'),
      ['/ip4/0.0.0.0/tcp/7420', '/ip6/::/tcp/0'])
    assert.deepEqual(parseMultiaddrList(undefined, '--listen'), [])
  })

  it('rejects bad addresses naming the flag and the value', () => {
    assertUsage(() => parseMultiaddrList(['foo'], '--listen'), /^--listen: 'foo' is not a valid multiaddr \(.+\)$/)
    assertUsage(() => parseMultiaddrList(['/ip4/1.2.3.4/tcp/99999'], '--listen'), /--listen: '\/ip4\/1\.2\.3\.4\/tcp\/99999' is not a valid multiaddr/)
    assertUsage(() => parseMultiaddrList(['/ip4/300.1.1.1/tcp/1'], '--listen'), /not a valid multiaddr/)
    assertUsage(() => parseMultiaddrList(['/ip4/1.2.3.4/udp/1/quic-v1'], '--listen'), /expected \/tcp\/<port>/)
    assertUsage(() => parseMultiaddrList(['/dns4/a.b/tcp/1'], '--listen'), /starts with \/ip4\/ or \/ip6\//)
    assertUsage(() => parseMultiaddrList([''], '--listen'), /empty/)
  })
})

describe('parseBootstrapList', () => {
  it('accepts dialable addresses ending in a peer id', async () => {
    const peer = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
    const addrs = [`/ip4/10.0.0.1/tcp/7420/p2p/${peer}`, `/dns4/boot.lab/tcp/7420/p2p/${peer}`]
    assert.deepEqual(parseBootstrapList(addrs), addrs)
  })

  it('rejects addresses without a valid peer id or port', async () => {
    const peer = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
    assertUsage(() => parseBootstrapList(['/ip4/10.0.0.1/tcp/7420']), /^--bootstrap: .* \(a bootstrap address ends with \/p2p\/<peer id>\)$/)
    assertUsage(() => parseBootstrapList(['/ip4/10.0.0.1/tcp/7420/p2p/notapeer']), /'notapeer' is not a peer id/)
    assertUsage(() => parseBootstrapList([`/ip4/10.0.0.1/tcp/0/p2p/${peer}`]), /port 0 cannot be dialled/)
    assertUsage(() => parseBootstrapList([`/p2p/${peer}`], '--peer'), /^--peer: /)
  })
})

describe('parseDuration', () => {
  it('reads each unit and combinations', () => {
    assert.equal(parseDuration('500ms', '--ttl'), 500)
    assert.equal(parseDuration('30s', '--ttl'), 30_000)
    assert.equal(parseDuration('15m', '--ttl'), 900_000)
    assert.equal(parseDuration('2h', '--ttl'), 7_200_000)
    assert.equal(parseDuration('90d', '--ttl'), 90 * 86_400_000)
    assert.equal(parseDuration('1.5h', '--ttl'), 5_400_000)
    assert.equal(parseDuration('1h30m', '--ttl'), 5_400_000)
    assert.equal(parseDuration(' 0s ', '--ttl'), 0)
  })

  it('rejects what is not a duration, naming the flag', () => {
    assertUsage(() => parseDuration('15', '--ttl'), /^--ttl: '15' is not a duration \(add a unit/)
    assertUsage(() => parseDuration('15x', '--ttl'), /--ttl: '15x' is not a duration/)
    assertUsage(() => parseDuration('m', '--ttl'), /not a duration/)
    assertUsage(() => parseDuration('-5m', '--ttl'), /not a duration/)
    assertUsage(() => parseDuration('5 m', '--ttl'), /not a duration/)
    assertUsage(() => parseDuration('', '--ttl'), /empty/)
    assertUsage(() => parseDuration('9'.repeat(30) + 'd', '--ttl'), /too large/)
  })
})

describe('parseName', () => {
  it('accepts printable names and rejects blanks and control characters', () => {
    assert.equal(parseName('lab gpu 1'), 'lab gpu 1')
    assertUsage(() => parseName(''), /^--name: '' must not be empty$/)
    assertUsage(() => parseName(' x'), /white space/)
    assertUsage(() => parseName('a\tb'), /control characters/)
  })
})
