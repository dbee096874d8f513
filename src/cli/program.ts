import { Command, CommanderError } from 'commander'
import { isMeshError } from '../errors.js'
import { meshVersion } from '../node/version.js'
import { processOutput } from './io.js'
import type { CliContext, Register } from './context.js'
import type { Output } from './io.js'

/**
 * Commands are loaded on demand: `mesh peers` must not pay for loading the daemon, ajv or crypto
 * (CLI start-up time is measured; see BENCHMARKS.md).
 */
const COMMANDS: Record<string, () => Promise<Register>> = {
  init: async () => (await import('./commands/init.js')).registerInit,
  start: async () => (await import('./commands/start.js')).registerStart,
  stop: async () => (await import('./commands/stop.js')).registerStop,
  id: async () => (await import('./commands/id.js')).registerId,
  peers: async () => (await import('./commands/peers.js')).registerPeers,
  push: async () => (await import('./commands/push.js')).registerPush,
  status: async () => (await import('./commands/status.js')).registerStatus,
  logs: async () => (await import('./commands/logs.js')).registerLogs,
  cancel: async () => (await import('./commands/cancel.js')).registerCancel,
  tasks: async () => (await import('./commands/tasks.js')).registerTasks,
  'swarm-key': async () => (await import('./commands/swarm-key.js')).registerSwarmKey,
  ca: async () => (await import('./commands/ca.js')).registerCa,
  join: async () => (await import('./commands/join.js')).registerJoin
}

/** Builds the program with the command named in `argv` only, or with all of them (help, typos). */
export async function createProgram (ctx: CliContext, argv: string[] = []): Promise<Command> {
  const program = new Command('mesh')
    .description('peer-to-peer runner mesh: every machine runs the same daemon, any node dispatches')
    .exitOverride()
    .configureOutput({ writeOut: s => { ctx.io.out(s) }, writeErr: s => { ctx.io.err(s) } })
    .showHelpAfterError('(run with --help for usage)')
    .version(meshVersion(), '-V, --version')
  const named = argv.find(a => !a.startsWith('-'))
  const versionOnly = named == null && argv.some(a => a === '-V' || a === '--version')
  const loaders = versionOnly ? [] : named != null && COMMANDS[named] != null ? [COMMANDS[named]] : Object.values(COMMANDS)
  for (const register of await Promise.all(loaders.map(async load => load()))) register(program, ctx)
  for (const cmd of program.commands) cmd.exitOverride().configureOutput({ writeOut: s => { ctx.io.out(s) }, writeErr: s => { ctx.io.err(s) } })
  return program
}

/** Runs one CLI invocation; returns the exit code instead of exiting, so tests can call it. */
export async function run (argv: string[], io: Output = processOutput()): Promise<number> {
  const ctx: CliContext = { io, exitCode: 0, argv }
  try {
    await (await createProgram(ctx, argv)).parseAsync(argv, { from: 'user' })
    return ctx.exitCode
  } catch (err) {
    if (err instanceof CommanderError) {
      // help and version are not errors; everything else commander rejects is bad usage
      return err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.exitCode === 0 ? 0 : 2
    }
    if (isMeshError(err)) {
      io.err(`mesh: ${err.message}`)
      return err.exitCode
    }
    io.err(`mesh: internal error: ${(err as Error)?.stack ?? String(err)}`)
    return 1
  }
}
