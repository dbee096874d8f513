#!/usr/bin/env node
import { Command, CommanderError } from 'commander'
import { isMeshError } from '../errors.js'
import { registerId } from './commands/id.js'
import { registerInit } from './commands/init.js'
import { registerPeers } from './commands/peers.js'
import { registerStart } from './commands/start.js'
import { registerStop } from './commands/stop.js'
import { registerSwarmKey } from './commands/swarm-key.js'
import { processOutput } from './io.js'
import type { CliContext } from './context.js'
import type { Output } from './io.js'

export function createProgram (ctx: CliContext): Command {
  const program = new Command('mesh')
    .description('peer-to-peer runner mesh: every machine runs the same daemon, any node dispatches')
    .exitOverride()
    .configureOutput({ writeOut: s => { ctx.io.out(s) }, writeErr: s => { ctx.io.err(s) } })
    .showHelpAfterError('(run with --help for usage)')
  for (const register of [registerInit, registerStart, registerStop, registerId, registerPeers, registerSwarmKey]) {
    register(program, ctx)
  }
  for (const cmd of program.commands) cmd.exitOverride().configureOutput({ writeOut: s => { ctx.io.out(s) }, writeErr: s => { ctx.io.err(s) } })
  return program
}

/** Runs one CLI invocation; returns the exit code instead of exiting, so tests can call it. */
export async function run (argv: string[], io: Output = processOutput()): Promise<number> {
  const ctx: CliContext = { io, exitCode: 0 }
  try {
    await createProgram(ctx).parseAsync(argv, { from: 'user' })
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

if (import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('/main.js') === true) {
  process.exitCode = await run(process.argv.slice(2))
}
