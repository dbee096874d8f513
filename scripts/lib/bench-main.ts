import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { Reaper, nodeVersionProblem } from './proc.js'

export interface BenchStart<O> {
  opts: O
  reaper: Reaper
  workdir: string
  started: number
  /** set to true to keep the work dir (homes, logs) after the run */
  keep: { value: boolean }
}

/**
 * What every benchmark does first: parse its flags (exit 2 with one line on a bad one, 0 on
 * --help), check the Node version, install the signal handlers that kill every daemon it starts,
 * and make a work dir removed at the end unless kept. Returns an exit code when it should stop.
 */
export async function benchStart<O extends { keep: boolean }> (name: string, argv: string[], parse: (argv: string[]) => O | 'help', help: string, what = 'homes and daemon logs'): Promise<BenchStart<O> | number> {
  let opts: O | 'help'
  try {
    opts = parse(argv)
  } catch (err) {
    console.error(`${name}: ${(err as Error).message}\n(run with --help for usage)`)
    return 2
  }
  if (opts === 'help') {
    console.log(help)
    return 0
  }
  const problem = nodeVersionProblem()
  if (problem != null) {
    console.error(`${name}: ${problem}`)
    return 1
  }
  const started = performance.now()
  const reaper = new Reaper()
  reaper.installSignalHandlers()
  const workdir = await mkdtemp(join(tmpdir(), `mesh-${name.replace(':', '-')}-`))
  const keep = { value: opts.keep }
  reaper.onCleanup(async () => {
    if (keep.value) console.error(`${what} kept in ${workdir}`)
    else await rm(workdir, { recursive: true, force: true })
  })
  return { opts, reaper, workdir, started, keep }
}

/**
 * What every benchmark does when its run throws: after a Ctrl-C (or another interrupt the caller
 * recognises) nothing, the signal handler is tearing down and exits; otherwise the stack, the work
 * dir kept for a look (unless `keep` is false: files too big to keep), exit code 1.
 */
export async function benchFailed (name: string, start: Pick<BenchStart<unknown>, 'reaper' | 'keep'>, err: unknown, opts: { interrupted?: boolean, keep?: boolean } = {}): Promise<number> {
  if (start.reaper.interrupted || opts.interrupted === true) return await new Promise<number>(() => {})
  console.error(`\n${name} failed: ${(err as Error).stack ?? String(err)}`)
  if (opts.keep !== false) start.keep.value = true
  return 1
}
