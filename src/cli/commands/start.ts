import { flushCompileCache } from '../compile-cache.js'
import { MeshError } from '../../errors.js'
import { ensureHome, resolveHome } from '../../node/home.js'
import { parseBootstrapList, parseMultiaddrList, parseTags } from '../../node/parse.js'
import { HOME_HELP } from '../context.js'
import { json } from '../io.js'
import { collect } from '../options.js'
import { missingDaemonFlags } from '../node-flags.js'
import type { CliContext, Register } from '../context.js'
import type { NodeInfo } from '../../node/views.js'

export interface StartFlags {
  home?: string
  listen: string[]
  bootstrap: string[]
  tags: string[]
  swarmKey?: string
  authority: string[]
  cert?: string
  mdns: boolean
  detach?: boolean
  json?: boolean
}

export const registerStart: Register = (program, ctx) => {
  program.command('start')
    .description('run the mesh daemon (creates the node key on first start)')
    .option('--home <dir>', HOME_HELP)
    .option('--listen <multiaddr>', 'address to listen on (repeatable; default /ip4/0.0.0.0/tcp/7420)', collect, [])
    .option('--bootstrap <multiaddr>', 'a peer to join through, with its /p2p/<id> (repeatable)', collect, [])
    .option('--tags <a,b>', 'tags this node offers, for this run (repeatable, comma-separated)', collect, [])
    .option('--swarm-key <file>', 'swarm key of the mesh; copied into the home')
    .option('--authority <ca.crt>', 'trust this mesh authority (repeatable; copied into the home)', collect, [])
    .option('--cert <node.crt>', 'this node\'s certificate from the authority (copied into the home)')
    .option('--no-mdns', 'do not discover peers on the LAN with mDNS')
    .option('--detach', 'run in the background; return once the daemon is ready')
    .option('--json', 'print the node info as JSON once ready')
    .addHelpText('after', `
Examples:
  mesh start --tags xai,junos
  mesh start --tags regression --listen /ip4/0.0.0.0/tcp/7421 --detach
  mesh start --bootstrap /ip4/10.0.0.1/tcp/7420/p2p/12D3KooW... --swarm-key swarm.key

Logs go to stderr (with --detach: to daemon.log in the home). Stop with Ctrl-C or: mesh stop`)
    .action(async (flags: StartFlags) => {
      const home = resolveHome(flags.home)
      // validate flags in the foreground so mistakes are reported before anything detaches
      parseMultiaddrList(flags.listen, '--listen')
      parseBootstrapList(flags.bootstrap, '--bootstrap')
      if (flags.tags.length > 0) parseTags(flags.tags)
      if (flags.detach === true) {
        const { startDetached } = await import('../daemon-process.js')
        const info = await startDetached(home, process.argv.slice(2).filter(a => a !== '--detach'))
        printReady(ctx, info, flags, `detached; logs in ${info.home}/daemon.log`)
        return
      }
      await runForeground(home, flags, ctx)
    })
}

function printReady (ctx: CliContext, info: NodeInfo, flags: StartFlags, note: string): void {
  if (flags.json === true) {
    ctx.io.out(json(info))
    return
  }
  ctx.io.out(`mesh daemon ready: peer id ${info.id}`)
  for (const a of info.addresses) ctx.io.out(`  listening on ${a.includes('/p2p/') ? a : `${a}/p2p/${info.id}`}`)
  ctx.io.out(`  tags ${info.tags.join(',') || '-'}; ${note}`)
}

async function runForeground (home: string, flags: StartFlags, ctx: CliContext): Promise<void> {
  // the daemon's modules are heavy: load them only for `start`, keeping other commands fast
  const { createDaemon } = await import('../../node/daemon.js')
  const { createLogger } = await import('../../node/logger.js')
  await ensureHome(home)
  const log = createLogger()
  // a detached parent that gave up has closed the channel: then nobody is waiting for the word
  const report = process.send != null
    ? (msg: unknown): void => { if (process.connected) process.send?.(msg, undefined, undefined, () => {}) }
    : undefined
  let resolveStopped!: () => void
  const stopped = new Promise<void>(resolve => { resolveStopped = resolve })
  const daemon = createDaemon({
    home,
    log,
    ...(flags.tags.length > 0 ? { tags: parseTags(flags.tags) } : {}),
    ...(flags.listen.length > 0 ? { listen: parseMultiaddrList(flags.listen, '--listen') } : {}),
    ...(flags.bootstrap.length > 0 ? { bootstrap: parseBootstrapList(flags.bootstrap, '--bootstrap') } : {}),
    ...(flags.swarmKey != null ? { swarmKeyFile: flags.swarmKey } : {}),
    ...(flags.authority.length > 0 ? { authorities: flags.authority } : {}),
    ...(flags.cert != null ? { cert: flags.cert } : {}),
    ...(flags.mdns ? {} : { mdns: false }),
    ...(process.env.MESH_SYSFS_ROOT != null ? { sysfsRoot: process.env.MESH_SYSFS_ROOT } : {}),
    onStopped: resolveStopped
  })
  process.on('unhandledRejection', err => { log.error({ component: 'daemon', err }, 'unhandled rejection') })
  let info: NodeInfo
  try {
    info = await daemon.start()
  } catch (err) {
    // a detached parent is waiting for either line; tell it why we could not start
    if (report != null) report({ type: 'error', message: (err as Error).message, exitCode: (err as MeshError).exitCode ?? 1 })
    throw err
  }
  // once started: a start that fails says so in one line, nothing else
  const missing = missingDaemonFlags(process.execArgv)
  if (missing.length > 0) log.info({ component: 'daemon', missing }, 'Node runs without the flags bin/mesh start gives the daemon: file transfers cost more CPU in garbage collection')
  // the compiled code of every module the daemon loaded, on disk now rather than at exit: a daemon
  // that runs for weeks and is then killed would never write it (a no-op when the cache is off)
  flushCompileCache()
  if (report != null) {
    report({ type: 'ready', info })
    if (process.connected) process.disconnect?.()
  } else {
    printReady(ctx, info, flags, 'Ctrl-C to stop')
  }
  const onSignal = (): void => { void daemon.stop().then(resolveStopped) }
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  await stopped
  process.off('SIGINT', onSignal)
  process.off('SIGTERM', onSignal)
  if (!(await stoppedCleanly(daemon))) throw new MeshError('daemon stopped with errors; see the log')
}

async function stoppedCleanly (daemon: { stop: () => Promise<void> }): Promise<boolean> {
  return daemon.stop().then(() => true, () => false)
}
