import { daemonClient } from '../client.js'
import { HOME_HELP } from '../context.js'
import { formatRecord, formatRecords } from '../format/records.js'
import { exitCodeOf, groupExitCode } from '../exit-codes.js'
import { json } from '../io.js'
import type { TaskRecord } from '../../protocols/results/index.js'
import type { Register } from '../context.js'

export const registerStatus: Register = (program, ctx) => {
  program.command('status')
    .description('show a task\'s result record, from any node of the mesh')
    .argument('<id>', 'task id (a --all group id shows every peer\'s task)')
    .option('--home <dir>', HOME_HELP)
    .option('--json', 'print the record (an array for a --all group)')
    .option('--wait', 'wait until the task ended for good (retries included) and exit with its code, as mesh push does (a group: every task, the largest code)')
    .action(async (id: string, flags: { home?: string, json?: boolean, wait?: boolean }) => {
      const client = daemonClient(flags.home)
      if (flags.wait === true) {
        // a --all group's: every task's record, and pdsh -S's exit code (the largest)
        const record = await client.call<TaskRecord | TaskRecord[]>('wait', { id }, { timeoutMs: 0 })
        ctx.io.out(flags.json === true ? json(record) : Array.isArray(record) ? formatRecords(record) : formatRecord(record))
        ctx.exitCode = Array.isArray(record) ? groupExitCode(record) : exitCodeOf(record)
        return
      }
      const records = await client.call<TaskRecord[]>('status', { id })
      if (flags.json === true) ctx.io.out(json(records.length === 1 && records[0]!.id === id ? records[0] : records))
      else ctx.io.out(records.length === 1 ? formatRecord(records[0]!) : formatRecords(records))
    })
}
