import { join, resolve } from 'node:path'
import { MeshError, UsageError } from '../../errors.js'
import { parseDuration, parseName, parseTags } from '../../node/parse.js'
import {
  AUTHORITY_CERT_FILE, AUTHORITY_KEY_FILE, createAuthority, issueCertificate, loadAuthority, openCertificate,
  parseRoles, peerIdProblem, readCertificateFile, revokeInDir, writeCertificateFile, certificateText
} from '../../node/trust/index.js'
import type { RevokeTarget } from '../../node/trust/index.js'
import { collect } from '../options.js'
import { HOME_HELP } from '../context.js'
import type { Register } from '../context.js'

const CA_HELP = 'authority folder (ca.key, ca.crt, revocations.crl); keep it off the runners'
const SERIAL = /^[0-9a-f]{32}$/

interface InitFlags { ca: string, name?: string }
interface SignFlags { ca: string, name: string, tags: string[], roles: string[], ttl: string, out?: string }
interface RevokeFlags { ca: string }

export const registerCa: Register = (program, ctx) => {
  const ca = program.command('ca')
    .description('mesh authority: create it, sign node certificates, revoke them (no daemon needed)')

  ca.command('init')
    .description('create a mesh authority: DIR/ca.key (0600) and DIR/ca.crt; never overwrites')
    .requiredOption('--ca <dir>', CA_HELP)
    .option('--name <name>', 'authority name shown to nodes (default: mesh authority <date>)')
    .addHelpText('after', '\nExamples:\n  mesh ca init --ca ~/mesh-ca --name "lab authority 2025"')
    .action(async (flags: InitFlags) => {
      const name = flags.name != null ? parseName(flags.name) : undefined
      const { cert } = await createAuthority(flags.ca, name != null ? { name } : {})
      ctx.io.out(`created mesh authority ${cert.id} (${cert.name}): ${join(flags.ca, AUTHORITY_KEY_FILE)} stays here, give nodes ${join(flags.ca, AUTHORITY_CERT_FILE)}`)
    })

  ca.command('sign')
    .description('issue a node certificate binding a peer id to a name, tags, roles and an expiry')
    .argument('<peer-id>', 'the node\'s peer id (see: mesh id)')
    .requiredOption('--ca <dir>', CA_HELP)
    .requiredOption('--name <name>', 'the node\'s name')
    .option('--tags <a,b>', 'tags the node may claim (repeatable, comma-separated)', collect, [])
    .requiredOption('--roles <run,dispatch>', 'roles: run, dispatch, admin (repeatable, comma-separated)', (v: string, prev?: string[]) => collect(v, prev ?? []))
    .option('--ttl <duration>', 'validity, e.g. 30d, 90d, 12h', '90d')
    .option('--out <file>', 'write the certificate here (replacing it); default: print it')
    .addHelpText('after', '\nExamples:\n  mesh ca sign 12D3KooW… --ca ~/mesh-ca --name rack3-node1 --tags xai,junos --roles run --ttl 90d --out node.crt')
    .action(async (peerId: string, flags: SignFlags) => {
      const problem = peerIdProblem(peerId)
      if (problem != null) throw new UsageError(problem)
      const init = {
        peerId,
        name: parseName(flags.name),
        tags: parseTags(flags.tags),
        roles: parseRoles(flags.roles),
        ttlMs: parseDuration(flags.ttl, '--ttl')
      }
      const authority = await loadAuthority(flags.ca)
      const bytes = await issueCertificate(authority, init)
      if (flags.out == null) {
        ctx.io.out(certificateText(bytes).trimEnd())
        return
      }
      await writeCertificateFile(flags.out, bytes)
      const opened = await openCertificate(bytes, [authority.cert])
      if (!opened.ok) throw new MeshError(`issued a certificate that does not verify: ${opened.reason}`)
      const c = opened.cert
      ctx.io.out(`wrote ${flags.out}: ${c.name} ${c.peerId}, tags ${c.tags.join(',') || '-'}, roles ${c.roles.join(',')}, serial ${c.serial}, valid until ${c.notAfter}`)
    })

  ca.command('revoke')
    .description('add a peer or a certificate to the signed revocation list DIR/revocations.crl')
    .argument('<target>', 'a peer id, a certificate serial, or a certificate file')
    .requiredOption('--ca <dir>', CA_HELP)
    .option('--home <dir>', 'publish the new list through the daemon of this home (it gossips it to the mesh)')
    .addHelpText('after', '\nExamples:\n  mesh ca revoke 12D3KooW… --ca ~/mesh-ca --home ~/.mesh\n  mesh ca revoke node.crt --ca ~/mesh-ca')
    .action(async (arg: string, flags: RevokeFlags & { home?: string }) => {
      const target = await revokeTarget(arg, flags.ca)
      const { list, path, bytes } = await revokeInDir(flags.ca, target)
      const what = target.peerId != null ? `peer ${target.peerId}` : `certificate serial ${target.serial}`
      ctx.io.out(`revoked ${what}: wrote ${path}, version ${list.version} (${list.revoked.length} revoked)`)
      if (flags.home != null) {
        const { daemonClient } = await import('../client.js')
        const r = await daemonClient(flags.home).call<{ version: number, revoked: string[] }>('revocations', { list: Buffer.from(bytes).toString('base64') })
        ctx.io.out(`published version ${r.version} to the mesh; dropped ${r.revoked.length === 0 ? 'no connected peer' : r.revoked.join(', ')}`)
      }
    })

  ca.command('invite')
    .description('print a single-use join token; the daemon at --home serves the enrolment')
    .requiredOption('--ca <dir>', CA_HELP)
    .option('--tags <a,b>', 'tags the new node may claim (repeatable, comma-separated)', collect, [])
    .requiredOption('--roles <roles>', 'roles of the new node: run, dispatch, admin (comma-separated)')
    .option('--ttl <duration>', 'how long the token can be used', '15m')
    .option('--home <dir>', HOME_HELP)
    .addHelpText('after', '\nExample:\n  token=$(mesh ca invite --ca ~/mesh-ca --tags xai --roles run --ttl 15m)\n  # on the new machine:  mesh join "$token" && mesh start')
    .action(async (flags: { ca: string, tags: string[], roles: string, ttl: string, home?: string }) => {
      const { createInvite, loadAuthority } = await import('../../node/trust/index.js')
      const { daemonClient } = await import('../client.js')
      const { homePaths, resolveHome } = await import('../../node/home.js')
      const { readFile } = await import('node:fs/promises')
      const authority = await loadAuthority(flags.ca)
      const client = daemonClient(flags.home)
      const info = await client.call<{ id: string, addresses: string[] }>('id')
      const swarmKey = await readFile(homePaths(resolveHome(flags.home)).swarmKey).catch(() => null)
      const addrs = info.addresses.map(a => a.includes('/p2p/') ? a : `${a}/p2p/${info.id}`)
      const { token, secretHash, grant } = createInvite({
        authority: authority.cert,
        issuer: info.id,
        addrs,
        swarmKey,
        tags: parseTags(flags.tags),
        roles: parseRoles(flags.roles),
        ttlMs: parseDuration(flags.ttl, '--ttl')
      })
      await client.call('invites.add', { secretHash, grant, authorityDir: resolve(flags.ca) })
      ctx.io.out(token)
    })

  ca.command('publish')
    .description('publish DIR/revocations.crl through the daemon of --home (e.g. to re-send it)')
    .requiredOption('--ca <dir>', CA_HELP)
    .option('--home <dir>', HOME_HELP)
    .action(async (flags: { ca: string, home?: string }) => {
      const { readRevocationsFile } = await import('../../node/trust/index.js')
      const { daemonClient } = await import('../client.js')
      const bytes = await readRevocationsFile(join(flags.ca, 'revocations.crl'))
      const r = await daemonClient(flags.home).call<{ version: number, revoked: string[] }>('revocations', { list: Buffer.from(bytes).toString('base64') })
      ctx.io.out(`published revocation list version ${r.version}`)
    })
}

async function revokeTarget (arg: string, dir: string): Promise<RevokeTarget> {
  if (peerIdProblem(arg) == null) return { peerId: arg }
  if (SERIAL.test(arg)) return { serial: arg }
  let bytes: Uint8Array
  try {
    bytes = await readCertificateFile(arg)
  } catch (err) {
    if (err instanceof MeshError && /no such file/.test(err.message)) {
      throw new UsageError(`'${arg}' is not a peer id, a certificate serial (32 hex digits) or a certificate file`)
    }
    throw err
  }
  const { cert } = await loadAuthority(dir)
  const opened = await openCertificate(bytes, [cert])
  if (!opened.ok) throw new MeshError(`${arg}: ${opened.reason}`)
  return { serial: opened.cert.serial }
}
