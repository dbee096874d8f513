import { daemonClient } from '../client.js'
import { HOME_HELP } from '../context.js'
import { formatRecords } from '../format/records.js'
import { json } from '../io.js'
import type { TaskRecord } from '../../protocols/results/index.js'
import type { Register } from '../context.js'

export const registerTasks: Register = (program, ctx) => {
  program.command('tasks')
    .description('list the tasks this node knows of (every node keeps every result), newest first')
    .option('--home <dir>', HOME_HELP)
    .option('--state <state>', 'only tasks in this state: queued, running, succeeded, failed, timed_out, cancelled, lost, rejected')
    .option('--limit <n>', 'at most this many', '100')
    .option('--json', 'print as a JSON array')
    .action(async (flags: { home?: string, state?: string, limit: string, json?: boolean }) => {
      const records = await daemonClient(flags.home).call<TaskRecord[]>('tasks', { ...(flags.state != null ? { state: flags.state } : {}), limit: Number(flags.limit) || 100 })
      ctx.io.out(flags.json === true ? json(records) : formatRecords(records))
    })
}
