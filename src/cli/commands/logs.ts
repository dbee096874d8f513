import { daemonClient } from '../client.js'
import { HOME_HELP } from '../context.js'
import { LinePrefixer } from '../format/prefix.js'
import type { LogsChunk } from '../../node/task-queries.js'
import type { Register } from '../context.js'

export const registerLogs: Register = (program, ctx) => {
  program.command('logs')
    .description('print a task\'s full stdout and stderr, fetched from its runner')
    .argument('<id>', 'task id (a --all group id prints every peer\'s, lines prefixed with the peer name)')
    .option('--home <dir>', HOME_HELP)
    .option('-f, --follow', 'keep printing until the task ends')
    .action(async (id: string, flags: { home?: string, follow?: boolean }) => {
      const stream = daemonClient(flags.home).stream<LogsChunk>('logs', { id, follow: flags.follow === true })
      // a group's chunks name their task and runner: pdsh-style lines, as `mesh push --all` prints
      const prefixer = new LinePrefixer()
      const partial = new Map<string, { stream: LogsChunk['stream'], prefix: string }>()
      for await (const chunk of stream) {
        const data = Buffer.from(chunk.data, 'base64')
        if (chunk.task == null || chunk.runnerName == null) {
          ctx.io.write(chunk.stream, data)
          continue
        }
        const key = `${chunk.task}/${chunk.stream}`
        partial.set(key, { stream: chunk.stream, prefix: chunk.runnerName })
        const lines = prefixer.push(key, chunk.runnerName, data)
        if (lines.byteLength > 0) ctx.io.write(chunk.stream, lines)
      }
      for (const [key, { stream: s, prefix }] of partial) {
        const rest = prefixer.flush(key, prefix)
        if (rest.byteLength > 0) ctx.io.write(s, rest)
      }
    })
}
