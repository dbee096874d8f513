import { readFile } from 'node:fs/promises'
import { dirname, resolve } from 'node:path'
import { MeshError, NoDaemonError, UsageError, errorMessage } from '../../errors.js'
import { DaemonClosedError } from '../../node/control/errors.js'
import { fsProblem } from '../../node/home.js'
import { parseTags } from '../../node/tags.js'
import { STDIN_NAME } from '../../node/task/constants.js'
import { InvalidTaskError } from '../../node/task/errors.js'
import { daemonClient } from '../client.js'
import { HOME_HELP } from '../context.js'
import { exitCodeOf, groupExitCode } from '../exit-codes.js'
import { LinePrefixer } from '../format/prefix.js'
import { json } from '../io.js'
import { collect } from '../options.js'
import type { PushParams } from '../../node/api.js'
import type { DispatchEvent } from '../../node/dispatch/index.js'
import type { TaskRecord } from '../../protocols/results/index.js'
import type { Register } from '../context.js'

interface PushFlags { home?: string, tag: string[], target?: string, all?: boolean, detach?: boolean, json?: boolean, wait: string }

export const registerPush: Register = (program, ctx) => {
  program.command('push')
    .description('run a task on a peer holding every requested tag (waits and passes its exit code through)')
    .argument('[file]', 'task file (JSON, see schema/task.schema.json); - reads stdin')
    .argument('[command...]', 'or, after --, a command to run (argv, no shell)')
    .option('--home <dir>', HOME_HELP)
    .option('--tag <tag>', 'required tag (repeatable, comma-separated; added to the file\'s tags)', collect, [])
    .option('--target <peer[:numa]>', 'pin a peer (id or name) and optionally its NUMA node')
    .option('--all', 'run on every matching peer; output lines are prefixed with the peer name')
    .option('--detach', 'print the task id and return at once')
    .option('--json', 'print the result record(s) instead of the output')
    .option('--wait <seconds>', 'how long to wait for a peer with capacity before giving up (exit 3)', '30')
    .addHelpText('after', `
Examples:
  mesh push --tag xai task.json
  mesh push --target lab2:1 task.json          # peer lab2, NUMA node 1
  mesh push --all --tag junos -- uname -r       # every junos peer, like pdsh
  mesh push --detach task.json && mesh status <id>

Exit codes: the task's own code; 124 timed out; 130 cancelled; 3 no peer can take it; 2 bad task file; 4 no daemon.`)
    .action(async (file: string | undefined, command: string[], flags: PushFlags) => {
      const dd = ctx.argv.indexOf('--')
      const inline = dd >= 0 ? ctx.argv.slice(dd + 1) : undefined
      if (inline != null && (inline.length === 0 || inline[0] !== file)) throw new UsageError('push: give either a task file or -- COMMAND, not both')
      const req = await buildRequest(inline != null ? undefined : file, inline ?? [], flags)
      const client = daemonClient(flags.home)
      const prefixer = new LinePrefixer()
      const results: TaskRecord[] = []
      let id = ''
      try {
        for await (const ev of pushEvents(client.stream<DispatchEvent>('push', req), req)) {
          if (ev.type === 'submitted') {
            id = ev.id
            if (flags.detach === true) {
              ctx.io.out(flags.json === true ? json({ id }) : id)
              return
            }
          } else if (ev.type === 'output') {
            const data = Buffer.from(ev.data, 'base64')
            if (flags.all === true) {
              const lines = prefixer.push(`${ev.id}/${ev.stream}`, ev.runnerName, data)
              if (lines.byteLength > 0) ctx.io.write(ev.stream, lines)
            } else {
              ctx.io.write(ev.stream, data)
            }
          } else if (ev.type === 'result') {
            const r = ev.record
            for (const s of ['stdout', 'stderr'] as const) {
              const rest = prefixer.flush(`${r.id}/${s}`, r.runnerName ?? r.runner ?? '?')
              if (rest.byteLength > 0) ctx.io.write(s, rest)
            }
            results.push(r)
          } else if (ev.type === 'unplaceable') {
            throw new MeshError(`task ${ev.id}: ${ev.reason}`, 3)
          }
        }
      } catch (err) {
        // the task was handed over: losing the daemon (a crash, a restart) does not lose the task
        if (id === '' || (!(err instanceof DaemonClosedError) && !(err instanceof NoDaemonError))) throw err
        throw new MeshError(`task ${id}: lost the connection to the local daemon while waiting (${errorMessage(err)}); the task goes on: once the daemon runs again, follow it with: mesh status ${id} --wait`)
      }
      if (results.length === 0) throw new MeshError(`task ${id}: the daemon ended the stream without a result; follow it with: mesh status ${id} --wait`)
      if (flags.json === true) ctx.io.out(json(flags.all === true ? results : results[0]))
      for (const r of results) {
        if (r.error != null && r.state !== 'succeeded' && flags.json !== true) ctx.io.err(`mesh: task ${r.id}${r.runnerName != null ? ` on ${r.runnerName}` : ''}: ${r.state}: ${r.error}`)
      }
      ctx.exitCode = flags.all === true ? groupExitCode(results) : exitCodeOf(results[0]!)
    })
}

/**
 * The daemon validates the task file with its compiled schema (compiling it here would cost every
 * push ~100 ms of start-up). Only with no daemon to ask is the file checked here, so a bad file is
 * still exit 2, not 4.
 */
async function * pushEvents (events: AsyncIterable<DispatchEvent>, req: PushParams): AsyncGenerator<DispatchEvent> {
  try {
    yield * events
  } catch (err) {
    if (err instanceof NoDaemonError) {
      const { parseTaskFile } = await import('../../node/task/index.js')
      parseTaskFile(req.text, req.name, { baseDir: req.baseDir })
    }
    throw err
  }
}

async function buildRequest (file: string | undefined, inline: string[], flags: PushFlags): Promise<PushParams> {
  let text: string
  let name: string
  let baseDir = process.cwd()
  if (inline.length > 0) {
    text = JSON.stringify({ command: inline })
    name = '<command line>'
  } else if (file == null || file === '-') {
    text = await readStdin()
    name = STDIN_NAME
  } else {
    text = await readFile(file, 'utf8').catch((err: unknown) => { throw new InvalidTaskError(file, `cannot read: ${fsProblem(err)}`) })
    name = file
    baseDir = dirname(resolve(file))
  }
  const waitSec = Number(flags.wait)
  if (!Number.isFinite(waitSec) || waitSec < 0) throw new UsageError(`--wait: '${flags.wait}' is not a number of seconds`)
  return {
    text,
    name,
    baseDir,
    tags: flags.tag.length > 0 ? parseTags(flags.tag) : [],
    ...(flags.target != null ? { target: parseTarget(flags.target) } : {}),
    all: flags.all === true,
    waitMs: Math.round(waitSec * 1000),
    detach: flags.detach === true,
    follow: flags.json !== true
  }
}

/** "peer" or "peer:numa"; a peer id never contains ':'. */
export function parseTarget (value: string): { peer: string, numa?: number } {
  const m = /^([^:\s]+)(?::(\d+))?$/.exec(value)
  if (m == null) throw new UsageError(`--target: '${value}' is not PEER or PEER:NUMA`)
  return { peer: m[1]!, ...(m[2] != null ? { numa: Number(m[2]) } : {}) }
}

async function readStdin (): Promise<string> {
  if (process.stdin.isTTY) throw new UsageError('push: give a task file, - for stdin, or -- command')
  const chunks: Buffer[] = []
  for await (const c of process.stdin) chunks.push(c as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}
