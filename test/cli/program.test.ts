import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { run } from '../../src/cli/program.js'
import { parseSwarmKey } from '../../src/node/swarm-key.js'
import type { Output } from '../../src/cli/io.js'

interface Captured extends Output {
  stdout: string[]
  stderr: string[]
}

function capture (): Captured {
  const stdout: string[] = []
  const stderr: string[] = []
  return {
    stdout,
    stderr,
    out: s => { stdout.push(s) },
    err: s => { stderr.push(s) },
    write: (stream, data) => { (stream === 'stdout' ? stdout : stderr).push(Buffer.from(data).toString()) }
  }
}

async function mesh (...argv: string[]): Promise<{ code: number, out: string, err: string }> {
  const io = capture()
  const code = await run(argv, io)
  return { code, out: io.stdout.join(''), err: io.stderr.join('') }
}

const COMMANDS = ['init', 'start', 'stop', 'id', 'peers', 'swarm-key']

describe('mesh CLI (in process)', () => {
  let dir: string
  before(async () => { dir = await mkdtemp(join(tmpdir(), 'mesh-cli-')) })
  after(async () => { await rm(dir, { recursive: true, force: true }) })

  it('--help exits 0 and lists every command', async () => {
    const { code, out, err } = await mesh('--help')
    assert.equal(code, 0)
    assert.equal(err, '')
    assert.match(out, /^Usage: mesh /)
    for (const cmd of COMMANDS) assert.match(out, new RegExp(`^ {2}${cmd} `, 'm'), `${cmd} missing from:\n${out}`)
  })

  it('a command\'s --help exits 0 and shows its options and examples', async () => {
    const { code, out } = await mesh('peers', '--help')
    assert.equal(code, 0)
    assert.match(out, /--tag <tag>/)
    assert.match(out, /--home <dir>/)
    assert.match(out, /Examples:/)
    assert.equal((await mesh('help', 'swarm-key')).code, 0)
  })

  it('an unknown command exits 2 and says what is wrong on stderr', async () => {
    const { code, out, err } = await mesh('frobnicate')
    assert.equal(code, 2)
    assert.equal(out, '')
    assert.match(err, /unknown command 'frobnicate'/)
  })

  it('an unknown option exits 2', async () => {
    const { code, out, err } = await mesh('peers', '--bogus')
    assert.equal(code, 2)
    assert.equal(out, '')
    assert.match(err, /unknown option '--bogus'/)
  })

  it('a missing option value and extra arguments exit 2', async () => {
    assert.equal((await mesh('peers', '--home')).code, 2)
    assert.equal((await mesh('swarm-key', 'extra')).code, 2)
  })

  it('no command at all prints usage and exits 2', async () => {
    const { code, err } = await mesh()
    assert.equal(code, 2)
    assert.match(err, /Usage: mesh/)
  })

  it('peers without a daemon exits 4 with one line', async () => {
    const home = await mkdtemp(join(dir, 'home-'))
    for (const argv of [['peers', '--home', home], ['peers', '--json', '--home', home], ['id', '--home', home], ['stop', '--home', home]]) {
      const { code, out, err } = await mesh(...argv)
      assert.equal(code, 4, argv.join(' '))
      assert.equal(out, '')
      assert.equal(err.trimEnd().split('\n').length, 1, err)
      assert.match(err, /^mesh: no mesh daemon is running for /)
      assert.ok(err.includes(home), err)
    }
  })

  it('an empty --home is bad usage', async () => {
    const { code, err } = await mesh('peers', '--home', ' ')
    assert.equal(code, 2)
    assert.match(err, /--home/)
  })

  it('swarm-key prints a new valid key each time', async () => {
    const first = await mesh('swarm-key')
    const second = await mesh('swarm-key')
    assert.equal(first.code, 0)
    assert.equal(first.err, '')
    assert.match(first.out, /^\/key\/swarm\/psk\/1\.0\.0\/\n\/base16\/\n[0-9a-f]{64}$/)
    const psk = parseSwarmKey(new TextEncoder().encode(first.out), 'stdout')
    assert.equal(new TextDecoder().decode(psk), first.out)
    assert.notEqual(second.out, first.out)
  })

  it('swarm-key --out writes a 0600 file with a valid key', async () => {
    const file = join(dir, 'swarm.key')
    const { code, out } = await mesh('swarm-key', '--out', file)
    assert.equal(code, 0)
    assert.match(out, /wrote swarm key to /)
    const bytes = await readFile(file)
    assert.doesNotThrow(() => parseSwarmKey(bytes, file))
    assert.equal((await stat(file)).mode & 0o777, 0o600)
  })

  it('swarm-key --out refuses to overwrite an existing file', async () => {
    const file = join(dir, 'existing.key')
    await writeFile(file, 'precious')
    const { code, out, err } = await mesh('swarm-key', '--out', file)
    assert.equal(code, 1)
    assert.equal(out, '')
    assert.match(err, /^mesh: cannot write .*existing\.key: file exists/)
    assert.equal(await readFile(file, 'utf8'), 'precious')
  })

  it('swarm-key --out into a missing folder fails with a one-line message', async () => {
    const { code, err } = await mesh('swarm-key', '--out', join(dir, 'no', 'such', 'swarm.key'))
    assert.equal(code, 1)
    assert.equal(err.trimEnd().split('\n').length, 1, err)
    assert.match(err, /^mesh: cannot write /)
  })
})
