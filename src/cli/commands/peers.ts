import { parseTags } from '../../node/tags.js'
import { daemonClient } from '../client.js'
import { HOME_HELP } from '../context.js'
import { formatPeers } from '../format/peers.js'
import { json } from '../io.js'
import type { Register } from '../context.js'
import type { PeerEntry } from '../../node/views.js'

export const registerPeers: Register = (program, ctx) => {
  program.command('peers')
    .description('list every known peer with its tags, capacity and state')
    .option('--home <dir>', HOME_HELP)
    .option('--tag <tag>', 'only peers holding this tag (also asks the DHT)')
    .option('--json', 'print as a JSON array (stable field names)')
    .addHelpText('after', '\nExamples:\n  mesh peers\n  mesh peers --tag xai\n  mesh peers --json | jq \'.[] | select(.state == "online") | .name\'')
    .action(async (flags: { home?: string, tag?: string, json?: boolean }) => {
      const tag = flags.tag == null ? undefined : parseTags(flags.tag)[0]
      const peers = await daemonClient(flags.home).call<PeerEntry[]>('peers', tag == null ? {} : { tag }, { timeoutMs: 15_000 })
      ctx.io.out(flags.json === true ? json(peers) : formatPeers(peers))
    })
}
