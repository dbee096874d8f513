import assert from 'node:assert/strict'
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { delimiter, join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { createSystemReader, findExecutable, readCapabilities } from '../../../src/node/capabilities/index.js'
import { sysfsFixture } from './fixtures.js'

describe('numactl detection', () => {
  let dir = ''
  let withNumactl = ''
  let notExecutable = ''
  let asDirectory = ''

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mesh-numactl-'))
    withNumactl = join(dir, 'good')
    notExecutable = join(dir, 'plain')
    asDirectory = join(dir, 'dir')
    await mkdir(withNumactl)
    await mkdir(notExecutable)
    await mkdir(join(asDirectory, 'numactl'), { recursive: true })
    await writeFile(join(withNumactl, 'numactl'), '#!/bin/sh\nexit 0\n')
    await chmod(join(withNumactl, 'numactl'), 0o755)
    await writeFile(join(notExecutable, 'numactl'), 'not a program\n')
    await chmod(join(notExecutable, 'numactl'), 0o644)
  })
  after(async () => { await rm(dir, { recursive: true, force: true }) })

  it('finds an executable numactl in a PATH directory', async () => {
    assert.equal(await findExecutable('numactl', [join(dir, 'missing'), withNumactl].join(delimiter)), join(withNumactl, 'numactl'))
  })

  it('skips a numactl without the execute bit', async (t) => {
    // root passes X_OK for any file with some x bit only; a 0644 file stays unfound either way.
    if (process.platform === 'win32') t.skip('no execute bits on Windows')
    assert.equal(await findExecutable('numactl', notExecutable), undefined)
    assert.equal(await findExecutable('numactl', [notExecutable, withNumactl].join(delimiter)), join(withNumactl, 'numactl'))
  })

  it('ignores empty and relative PATH entries', async () => {
    assert.equal(await findExecutable('numactl', `${delimiter}.${delimiter}relative/bin`), undefined)
  })

  it('sets Capabilities.numactl from the injected PATH', async () => {
    const reader = createSystemReader(sysfsFixture('two-node'))
    assert.equal((await readCapabilities({ reader, path: withNumactl })).numactl, true)
    assert.equal((await readCapabilities({ reader, path: notExecutable })).numactl, false)
    assert.equal((await readCapabilities({ reader, path: '' })).numactl, false)
  })
})
