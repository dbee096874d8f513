import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { preSharedKey } from '@libp2p/pnet'
import { generateSwarmKey, installSwarmKey, parseSwarmKey, readSwarmKey } from '../../src/node/swarm-key.js'

const HEX = '00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff'
const CANONICAL = `/key/swarm/psk/1.0.0/\n/base16/\n${HEX}`
const enc = (s: string): Uint8Array => new TextEncoder().encode(s)
const dec = (b: Uint8Array): string => new TextDecoder().decode(b)

function assertBad (text: string | Uint8Array, problem: RegExp): void {
  assert.throws(() => parseSwarmKey(typeof text === 'string' ? enc(text) : text, '/h/swarm.key'), (err: Error) => {
    assert.equal(err.name, 'InvalidFileError')
    assert.ok(err.message.startsWith('/h/swarm.key: not a valid swarm key: '), err.message)
    assert.ok(!err.message.includes('\n'), err.message)
    assert.match(err.message, problem)
    return true
  })
}

describe('swarm key', () => {
  let dir: string
  before(async () => { dir = await mkdtemp(join(tmpdir(), 'mesh-swarm-')) })
  after(async () => { await rm(dir, { recursive: true, force: true }) })

  it('generates the standard format and parses it back', () => {
    const file = generateSwarmKey()
    assert.match(dec(file), /^\/key\/swarm\/psk\/1\.0\.0\/\n\/base16\/\n[0-9a-f]{64}\n$/)
    const psk = parseSwarmKey(file, 'k')
    assert.equal(dec(psk), dec(file).trimEnd())
    assert.notEqual(dec(generateSwarmKey()), dec(file))
  })

  it('returns bytes @libp2p/pnet accepts', () => {
    const psk = parseSwarmKey(generateSwarmKey(), 'k')
    assert.doesNotThrow(() => preSharedKey({ psk })())
    // why we parse ourselves: pnet refuses trailing blanks we accept, and ignores the header we check
    const spaced = `${CANONICAL}  `
    assert.throws(() => preSharedKey({ psk: enc(spaced) })())
    assert.doesNotThrow(() => preSharedKey({ psk: parseSwarmKey(enc(spaced), 'k') })())
    assert.doesNotThrow(() => preSharedKey({ psk: enc(CANONICAL.replace('1.0.0', '2.0.0')) })())
  })

  it('accepts CRLF, trailing blanks, blank lines and upper-case hex, returning the canonical form', () => {
    assert.equal(dec(parseSwarmKey(enc(CANONICAL.replaceAll('\n', '\r\n') + '\r\n'), 'k')), CANONICAL)
    assert.equal(dec(parseSwarmKey(enc(`/key/swarm/psk/1.0.0/  \n/base16/\t\n${HEX}   \n\n\n`), 'k')), CANONICAL)
    assert.equal(dec(parseSwarmKey(enc(CANONICAL.replace(HEX, HEX.toUpperCase())), 'k')), CANONICAL)
  })

  it('names a bad header', () => {
    assertBad(`/key/swarm/psk/2.0.0/\n/base16/\n${HEX}`, /line 1 is '\/key\/swarm\/psk\/2\.0\.0\/', expected '\/key\/swarm\/psk\/1\.0\.0\/'/)
    assertBad(HEX, /line 1 is/)
  })

  it('names an unsupported or missing encoding', () => {
    assertBad(`/key/swarm/psk/1.0.0/\n/base64/\n${HEX}`, /unsupported encoding '\/base64\/'/)
    assertBad('/key/swarm/psk/1.0.0/\n', /line 2 is missing/)
  })

  it('names bad hex', () => {
    assertBad(CANONICAL.replace('0011', '00g1'), /'g' at column 3 is not a hex digit/)
  })

  it('names a short or long key', () => {
    assertBad(CANONICAL.slice(0, -2), /line 3 has 62 hex digits, expected 64/)
    assertBad(CANONICAL + 'ab', /line 3 has 66 hex digits/)
    assertBad('/key/swarm/psk/1.0.0/\n/base16/\n', /line 3 \(the key\) is missing/)
  })

  it('rejects empty, binary and extra content', () => {
    assertBad('', /the file is empty/)
    assertBad(new Uint8Array([0xff, 0xfe, 0x00, 0x80]), /not text/)
    assertBad(CANONICAL + '\nmore', /unexpected text on line 4/)
    assertBad(new Uint8Array(4096), /too large/)
  })

  it('readSwarmKey: undefined when absent, canonical bytes when present, error when bad', async () => {
    assert.equal(await readSwarmKey(join(dir, 'absent.key')), undefined)
    const path = join(dir, 'present.key')
    await writeFile(path, CANONICAL.replaceAll('\n', '\r\n'))
    assert.equal(dec(await readSwarmKey(path) ?? new Uint8Array()), CANONICAL)
    await writeFile(path, 'junk')
    await assert.rejects(readSwarmKey(path), { name: 'InvalidFileError', message: new RegExp(`^${path}: `) })
  })

  it('installSwarmKey copies a valid key with mode 0600 and refuses a bad one', async () => {
    const src = join(dir, 'src.key')
    const dest = join(dir, 'dest.key')
    const bytes = generateSwarmKey()
    await writeFile(src, bytes, { mode: 0o644 })
    await installSwarmKey(src, dest)
    assert.deepEqual(new Uint8Array(await readFile(dest)), bytes)
    assert.equal((await stat(dest)).mode & 0o777, 0o600)

    const bad = join(dir, 'bad.key')
    const dest2 = join(dir, 'dest2.key')
    await writeFile(bad, CANONICAL.slice(0, -1))
    await assert.rejects(installSwarmKey(bad, dest2), { name: 'InvalidFileError', message: new RegExp(`^${bad}: .*63 hex digits`) })
    await assert.rejects(stat(dest2), { code: 'ENOENT' })
    await assert.rejects(installSwarmKey(join(dir, 'nope'), dest2), { name: 'MeshError', message: /cannot read swarm key .*nope: no such file/ })
  })
})
