/**
 * `mesh start --detach` (src/cli/daemon-process.ts) with a real daemon process: a daemon the CLI
 * gave up waiting for is stopped, not left starting unseen.
 */
import assert from 'node:assert/strict'
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { startDetached } from '../../src/cli/daemon-process.js'
import { killTasksUnder } from '../helpers/daemons.js'

/** pids of processes whose command line names `home` */
async function processesOf (home: string): Promise<number[]> {
  const pids: number[] = []
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue
    const cmd = await readFile(`/proc/${name}/cmdline`, 'utf8').catch(() => '')
    if (cmd.split('\0').includes(home)) pids.push(Number(name))
  }
  return pids
}

describe('mesh start --detach', () => {
  const homes: string[] = []
  after(async () => {
    // whatever a failing test left behind
    for (const home of homes) {
      for (const pid of await processesOf(home)) { try { process.kill(pid, 'SIGKILL') } catch { /* gone */ } }
    }
    await killTasksUnder(homes)
    await Promise.all(homes.map(async h => rm(h, { recursive: true, force: true })))
  })

  it('stops a daemon that did not become ready in time, and says so in one line', async () => {
    const home = await mkdtemp(join(tmpdir(), 'mesh-detach-'))
    homes.push(home)
    // far below a daemon's start-up (loading libp2p alone takes longer)
    await assert.rejects(startDetached(home, ['start', '--listen', '/ip4/127.0.0.1/tcp/0', '--no-mdns'], { readyTimeoutMs: 300 }),
      (err: Error) => /did not become ready within 0.3 s and was stopped; see .*daemon\.log$/.test(err.message) && !err.message.includes('\n'))
    assert.deepEqual(await processesOf(home), [])
    // and it does not come back: nothing was left to finish starting
    await sleep(3_000)
    assert.deepEqual(await processesOf(home), [])
  })
})
