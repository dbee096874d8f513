import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { MeshError } from '../../errors.js'
import { HOME_HELP } from '../context.js'
import type { Register } from '../context.js'
import type { PrivateKey } from '@libp2p/interface'

export const registerJoin: Register = (program, ctx) => {
  program.command('join')
    .description('enrol this machine with a token from mesh ca invite: key, authority, swarm key, certificate, bootstrap')
    .argument('<token>', 'the mesh1.… token')
    .option('--home <dir>', HOME_HELP)
    .option('--name <name>', 'name in the certificate and in mesh peers (default: hostname)')
    .addHelpText('after', '\nExample:\n  mesh join mesh1.eyJ2Ijox… && mesh start')
    .action(async (token: string, flags: { home?: string, name?: string }) => {
      // join runs before any daemon exists: it speaks libp2p itself, once, then leaves a ready home
      const { parseInvite, verifyCertificate, writeCertificateFile, formatAuthorityCert } = await import('../../node/trust/index.js')
      const { resolveHome, homePaths, ensureHome } = await import('../../node/home.js')
      const { initHome } = await import('../../node/init.js')
      const { loadKey } = await import('../../node/keys.js')
      const { loadConfig, saveConfig } = await import('../../node/config.js')
      const { readSwarmKey } = await import('../../node/swarm-key.js')
      const { trustPaths } = await import('../../node/membership/files.js')
      const { existsSync } = await import('node:fs')
      const invite = await parseInvite(token, Date.now())
      const home = resolveHome(flags.home)
      const paths = homePaths(home)
      if (existsSync(trustPaths(home).cert)) throw new MeshError(`${home} already has a node certificate; join with a new --home`)
      await ensureHome(home)
      const tmp = await mkdtemp(join(tmpdir(), 'mesh-join-'))
      try {
        let swarmKeyFile: string | undefined
        if (invite.swarmKey != null) {
          swarmKeyFile = join(tmp, 'swarm.key')
          await writeFile(swarmKeyFile, Buffer.from(invite.swarmKey, 'base64'), { mode: 0o600 })
        }
        const init = await initHome({ home, tags: invite.tags, ...(swarmKeyFile != null ? { swarmKeyFile } : {}), ...(flags.name != null ? { name: flags.name } : {}) })
        const key = await loadKey(paths.key)
        const reply = await ask(key, await readSwarmKey(paths.swarmKey), invite.addrs, { secret: invite.secret, name: init.config.name })
        if (reply.status === 'refused') throw new MeshError(`join refused by the issuer: ${reply.reason}`)
        const bytes = Buffer.from(reply.cert, 'base64')
        const verdict = await verifyCertificate(bytes, { authorities: [invite.authority], peerId: init.peerId, now: Date.now() })
        if (!verdict.ok) throw new MeshError(`the issuer sent a certificate that does not verify: ${verdict.reason}`)
        const t = trustPaths(home)
        const { mkdir } = await import('node:fs/promises')
        await mkdir(t.authorities, { recursive: true, mode: 0o700 })
        await writeFile(join(t.authorities, `${invite.authority.id}.crt`), formatAuthorityCert(invite.authority))
        await writeCertificateFile(t.cert, bytes)
        const config = await loadConfig(paths.config)
        await saveConfig(paths.config, { ...config, tags: verdict.cert.tags, bootstrap: [...new Set([...config.bootstrap, ...invite.addrs])] })
        ctx.io.out(`joined as ${verdict.cert.name} (${init.peerId}): tags ${verdict.cert.tags.join(',') || '-'}, roles ${verdict.cert.roles.join(',')}, until ${verdict.cert.notAfter}`)
        ctx.io.out(`start it with: mesh start --home ${home}`)
      } finally {
        await rm(tmp, { recursive: true, force: true })
      }
    })
}

async function ask (key: PrivateKey, swarmKey: Uint8Array | undefined, addrs: string[], request: { secret: string, name: string }): Promise<{ status: 'ok', cert: string } | { status: 'refused', reason: string }> {
  const { createMeshLibp2p } = await import('../../node/libp2p.js')
  const { requestJoin } = await import('../../protocols/join/index.js')
  const { multiaddr } = await import('@multiformats/multiaddr')
  const node = await createMeshLibp2p({ privateKey: key, listen: [], bootstrap: [], mdns: false, ...(swarmKey != null ? { swarmKey } : {}) })
  await node.start()
  const failures: string[] = []
  try {
    for (const addr of addrs) {
      try {
        return await requestJoin(node, multiaddr(addr), request, AbortSignal.timeout(15_000))
      } catch (err) {
        failures.push(`${addr}: ${(err as Error).message}`)
      }
    }
  } finally {
    await node.stop()
  }
  throw new MeshError(`cannot reach the issuer: ${failures.join('; ')}`)
}
