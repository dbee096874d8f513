/**
 * Logs: stream a task's full stdout/stderr from its runner, from the start, optionally following
 * until the task ends.
 *
 *   client ── {taskId, follow} ──▶ runner
 *          ◀── [1|bytes] stdout, [2|bytes] stderr, … [0|{"found":bool}] end
 */
import { LogsService } from './logs.js'
import type { LogChunk } from '../../node/runner/log-reader.js'
import type { Logger } from '../../node/logger.js'
import type { Libp2p, PeerId } from '@libp2p/interface'

export { LOGS_PROTOCOL } from './constants.js'

/** The runner's side: the output of a task it ran or runs, or undefined if it never had it. */
export type LogProvider = (taskId: string, follow: boolean, signal: AbortSignal, from: string) => AsyncIterable<LogChunk> | undefined

export interface LogsComponents {
  node: Pick<Libp2p, 'handle' | 'unhandle' | 'dialProtocol'>
  log: Logger
}

export interface Logs {
  start: () => Promise<void>
  stop: () => Promise<void>
  /** throws a LogsNotFoundError when the peer does not hold the task */
  fetch: (peer: PeerId, taskId: string, follow: boolean, signal: AbortSignal) => AsyncGenerator<LogChunk>
}

export function logs (init: { provider: LogProvider }): (components: LogsComponents) => Logs {
  return (components) => new LogsService(components, init.provider)
}
