import { daemonClient } from '../client.js'
import { HOME_HELP } from '../context.js'
import type { CancelReply } from '../../protocols/cancel/index.js'
import type { Register } from '../context.js'

export const registerCancel: Register = (program, ctx) => {
  program.command('cancel')
    .description('cancel a task, queued or running, from any node')
    .argument('<id>', 'task id')
    .option('--home <dir>', HOME_HELP)
    .action(async (id: string, flags: { home?: string }) => {
      const reply = await daemonClient(flags.home).call<CancelReply>('cancel', { id })
      ctx.io.out(reply.message)
      ctx.exitCode = reply.status === 'unknown' ? 1 : 0
    })
}
