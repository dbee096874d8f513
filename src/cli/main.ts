#!/usr/bin/env node
import { realpathSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { Command, CommanderError } from 'commander'
import { isMeshError } from '../errors.js'
import { registerCa } from './commands/ca.js'
import { registerCancel } from './commands/cancel.js'
import { registerId } from './commands/id.js'
import { registerInit } from './commands/init.js'
import { registerLogs } from './commands/logs.js'
import { registerPeers } from './commands/peers.js'
import { registerPush } from './commands/push.js'
import { registerStart } from './commands/start.js'
import { registerStatus } from './commands/status.js'
import { registerStop } from './commands/stop.js'
import { registerSwarmKey } from './commands/swarm-key.js'
import { registerTasks } from './commands/tasks.js'
import { meshVersion } from '../node/version.js'
import { processOutput } from './io.js'
import type { CliContext } from './context.js'
import type { Output } from './io.js'

export function createProgram (ctx: CliContext): Command {
  const program = new Command('mesh')
    .description('peer-to-peer runner mesh: every machine runs the same daemon, any node dispatches')
    .exitOverride()
    .configureOutput({ writeOut: s => { ctx.io.out(s) }, writeErr: s => { ctx.io.err(s) } })
    .showHelpAfterError('(run with --help for usage)')
    .version(meshVersion(), '-V, --version')
  for (const register of [registerInit, registerStart, registerStop, registerId, registerPeers, registerPush, registerStatus, registerLogs, registerCancel, registerTasks, registerSwarmKey, registerCa]) {
    register(program, ctx)
  }
  for (const cmd of program.commands) cmd.exitOverride().configureOutput({ writeOut: s => { ctx.io.out(s) }, writeErr: s => { ctx.io.err(s) } })
  return program
}

/** Runs one CLI invocation; returns the exit code instead of exiting, so tests can call it. */
export async function run (argv: string[], io: Output = processOutput()): Promise<number> {
  const ctx: CliContext = { io, exitCode: 0, argv }
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

// run only when executed (bin/mesh, node main.js), not when imported by tests
if (process.argv[1] != null && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = await run(process.argv.slice(2))
}
