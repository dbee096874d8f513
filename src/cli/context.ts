import type { Output } from './io.js'
import type { Command } from 'commander'

/** What each command gets: its output and a place to leave its exit code. */
export interface CliContext {
  io: Output
  exitCode: number
  /** the raw arguments, for what commander cannot tell apart (`push FILE` vs `push -- CMD`) */
  argv: string[]
}

export type Register = (program: Command, ctx: CliContext) => void

export const HOME_HELP = 'node home (default: $MESH_HOME or ~/.mesh)'
