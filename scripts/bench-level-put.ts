/**
 * What one level `put` of a task record costs: wall time per put, one after the other as the task
 * store writes them, and the process's CPU (all threads: LevelDB writes on libuv's pool) per put.
 * The throughput profiles credit classic-level's `_put` with 12–13 % of the dispatcher's self time;
 * run this once plainly and once under `node --cpu-prof` to see how much of that the profiler adds.
 *
 *   node dist/scripts/bench-level-put.js [rounds] [puts-per-round]
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Level } from 'level'
import { max, median, min } from './lib/stats.js'

const rounds = Number(process.argv[2] ?? 7)
const n = Number(process.argv[3] ?? 5000)
const dir = await mkdtemp(join(tmpdir(), 'mesh-bench-level-'))
const db = new Level<string, string>(join(dir, 'db'), { valueEncoding: 'utf8' })
try {
  await db.open()
  // the size of a signed task record
  const value = 'x'.repeat(1500)
  let key = 0
  const round = async (): Promise<{ wallUs: number, cpuUs: number }> => {
    const c0 = process.cpuUsage()
    const t0 = process.hrtime.bigint()
    for (let i = 0; i < n; i++) await db.put(`task-${key++}`, value)
    const c = process.cpuUsage(c0)
    return { wallUs: Number(process.hrtime.bigint() - t0) / 1000 / n, cpuUs: (c.user + c.system) / n }
  }
  await round()
  const runs = []
  for (let r = 0; r < rounds; r++) runs.push(await round())
  const line = (what: string, xs: number[]): string => `${what}: median ${median(xs).toFixed(1)} µs, min–max ${min(xs).toFixed(1)}–${max(xs).toFixed(1)} µs`
  console.log(`${rounds} rounds of ${n} sequential puts of ${value.length}-byte values${process.execArgv.some(a => a.startsWith('--cpu-prof')) ? ', under --cpu-prof' : ''}`)
  console.log(line('wall per put', runs.map(x => x.wallUs)))
  console.log(line('CPU per put (all threads)', runs.map(x => x.cpuUs)))
} finally {
  await db.close()
  await rm(dir, { recursive: true, force: true })
}
