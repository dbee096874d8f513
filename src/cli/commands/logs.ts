import { daemonClient } from '../client.js'
import { HOME_HELP } from '../context.js'
import type { Register } from '../context.js'

export const registerLogs: Register = (program, ctx) => {
  program.command('logs')
    .description('print a task\'s full stdout and stderr, fetched from its runner')
    .argument('<id>', 'task id')
    .option('--home <dir>', HOME_HELP)
    .option('-f, --follow', 'keep printing until the task ends')
    .action(async (id: string, flags: { home?: string, follow?: boolean }) => {
      const stream = daemonClient(flags.home).stream<{ stream: 'stdout' | 'stderr', data: string }>('logs', { id, follow: flags.follow === true })
      for await (const chunk of stream) ctx.io.write(chunk.stream, Buffer.from(chunk.data, 'base64'))
    })
}
