import { setTimeout as sleep } from 'node:timers/promises'
import { MeshError } from '../../errors.js'
import { daemonClient } from '../client.js'
import { HOME_HELP } from '../context.js'
import type { Register } from '../context.js'

const STOP_WAIT_MS = 20_000

export const registerStop: Register = (program, ctx) => {
  program.command('stop')
    .description('stop the local daemon gracefully (peers see it go offline at once)')
    .option('--home <dir>', HOME_HELP)
    .action(async (flags: { home?: string }) => {
      const client = daemonClient(flags.home)
      const { pid } = await client.call<{ pid: number }>('stop')
      // the daemon answers before it stops; wait until the process is gone so a following
      // `mesh start` on the same home does not race it for the database lock
      const deadline = Date.now() + STOP_WAIT_MS
      while (alive(pid)) {
        if (Date.now() > deadline) throw new MeshError(`daemon ${pid} is still stopping after ${STOP_WAIT_MS / 1000} s`)
        await sleep(50)
      }
      ctx.io.out(`stopped mesh daemon (pid ${pid})`)
    })
}

function alive (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}
