import { pino } from 'pino'
import type { Logger as PinoLogger, DestinationStream } from 'pino'

/**
 * One logger for the daemon, with fixed field names: `component` names the emitting part,
 * `peer` a remote peer id, `err` an error. The daemon never prints to stdout; the CLI does.
 */
export type Logger = PinoLogger

export interface LoggerInit {
  level?: string
  /** Where lines go; stderr by default (the detached daemon's stderr is its log file). */
  destination?: DestinationStream
}

export function createLogger (init: LoggerInit = {}): Logger {
  return pino({
    level: init.level ?? process.env.MESH_LOG_LEVEL ?? 'info',
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime
  }, init.destination ?? pino.destination(2))
}

/** A logger that drops everything: for unit tests and the CLI. */
export function silentLogger (): Logger {
  return pino({ level: 'silent' })
}
