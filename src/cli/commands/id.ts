import { daemonClient } from '../client.js'
import { HOME_HELP } from '../context.js'
import { formatId } from '../format/id.js'
import { json } from '../io.js'
import type { Register } from '../context.js'
import type { NodeInfo } from '../../node/views.js'

export const registerId: Register = (program, ctx) => {
  program.command('id')
    .description('show this node: peer id, addresses, tags, capacity, trust mode')
    .option('--home <dir>', HOME_HELP)
    .option('--json', 'print as JSON')
    .action(async (flags: { home?: string, json?: boolean }) => {
      const info = await daemonClient(flags.home).call<NodeInfo>('id')
      ctx.io.out(flags.json === true ? json(info) : formatId(info))
    })
}
