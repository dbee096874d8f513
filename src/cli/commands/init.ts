import { initHome } from '../../node/init.js'
import { parseTags } from '../../node/parse.js'
import { resolveHome } from '../../node/home.js'
import { HOME_HELP } from '../context.js'
import { json } from '../io.js'
import { collect } from '../options.js'
import type { Register } from '../context.js'

interface InitFlags { home?: string, tags?: string[], swarmKey?: string, name?: string, force?: boolean, json?: boolean, authority: string[], cert?: string }

export const registerInit: Register = (program, ctx) => {
  program.command('init')
    .description('create this node\'s key and config (idempotent; never replaces a key without --force)')
    .option('--home <dir>', HOME_HELP)
    .option('--tags <a,b>', 'tags this node offers (repeatable, comma-separated)', collect, [])
    .option('--swarm-key <file>', 'swarm key shared by every node of the mesh (see: mesh swarm-key)')
    .option('--name <name>', 'human name shown in mesh peers (default: hostname)')
    .option('--force', 'replace an existing node key (the node gets a new peer id)')
    .option('--authority <ca.crt>', 'trust this mesh authority (repeatable; copied into the home)', collect, [])
    .option('--cert <node.crt>', 'this node\'s certificate from the authority (copied into the home)')
    .option('--json', 'print the result as JSON')
    .addHelpText('after', '\nExamples:\n  mesh init --tags xai,junos --swarm-key ./swarm.key\n  mesh init --home /srv/mesh --name rack3-node1')
    .action(async (flags: InitFlags) => {
      const home = resolveHome(flags.home)
      const tags = flags.tags != null && flags.tags.length > 0 ? parseTags(flags.tags) : undefined
      const r = await initHome({
        home,
        ...(tags != null ? { tags } : {}),
        ...(flags.swarmKey != null ? { swarmKeyFile: flags.swarmKey } : {}),
        ...(flags.name != null ? { name: flags.name } : {}),
        ...(flags.force === true ? { force: true } : {})
      })
      if (flags.authority.length > 0 || flags.cert != null) {
        const { installAuthority, installCertificate } = await import('../../node/membership/files.js')
        for (const a of flags.authority) await installAuthority(home, a)
        if (flags.cert != null) await installCertificate(home, flags.cert)
      }
      if (flags.json === true) {
        ctx.io.out(json({ peerId: r.peerId, home, createdKey: r.createdKey, tags: r.config.tags, name: r.config.name }))
      } else {
        ctx.io.out(`${r.createdKey ? 'created' : 'kept'} node key: peer id ${r.peerId}`)
        ctx.io.out(`home ${home}, name ${r.config.name}, tags ${r.config.tags.join(',') || '-'}`)
      }
    })
}

