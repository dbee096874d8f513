import assert from 'node:assert/strict'
import { readdirSync } from 'node:fs'
import { appendFile, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { describe, it } from 'node:test'
import { readLogs } from '../../../src/node/runner/log-reader.js'

const openFds = (): number => readdirSync('/proc/self/fd').length

describe('log reader: following a running task\'s output', () => {
  it('reads output appended while it follows, a file created late, and all that is left once the task is done; then closes its files', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'mesh-logs-'))
    t.after(async () => { await rm(dir, { recursive: true, force: true }) })
    const paths = { stdout: join(dir, 'stdout.log'), stderr: join(dir, 'stderr.log') }
    await writeFile(paths.stdout, 'one\n')
    let done = false
    const fds = openFds()
    const seen: string[] = []
    const reading = (async () => {
      for await (const chunk of readLogs(paths, { follow: true, isDone: () => done, pollMs: 5, maxPollMs: 20 })) {
        seen.push(`${chunk.stream}:${new TextDecoder().decode(chunk.data)}`)
      }
    })()
    while (seen.length === 0) await sleep(5)
    // quiet for a while: the follower backs off, and must still see what comes next
    await sleep(100)
    await appendFile(paths.stdout, 'two\n')
    await writeFile(paths.stderr, 'oops\n')
    while (seen.length < 3) await sleep(5)
    await appendFile(paths.stdout, 'three\n')
    done = true
    await reading
    assert.deepEqual(seen, ['stdout:one\n', 'stdout:two\n', 'stderr:oops\n', 'stdout:three\n'])
    assert.equal(openFds(), fds, 'both files closed')
  })
})
