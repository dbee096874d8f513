import { writeFile } from 'node:fs/promises'
import { MeshError } from '../../errors.js'
import { generateSwarmKey } from '../../node/swarm-key.js'
import type { Register } from '../context.js'

export const registerSwarmKey: Register = (program, ctx) => {
  program.command('swarm-key')
    .description('print a new swarm key (the pre-shared key every node of one mesh needs)')
    .option('--out <file>', 'write it to this file (mode 0600) instead of stdout; never overwrites')
    .addHelpText('after', '\nExamples:\n  mesh swarm-key --out swarm.key\n  mesh start --swarm-key swarm.key --tags xai')
    .action(async (flags: { out?: string }) => {
      const key = generateSwarmKey()
      if (flags.out == null) {
        ctx.io.out(new TextDecoder().decode(key).trimEnd())
        return
      }
      await writeFile(flags.out, key, { mode: 0o600, flag: 'wx' }).catch((err: NodeJS.ErrnoException) => {
        throw new MeshError(`cannot write ${flags.out}: ${err.code === 'EEXIST' ? 'file exists' : err.message}`)
      })
      ctx.io.out(`wrote swarm key to ${flags.out}`)
    })
}
