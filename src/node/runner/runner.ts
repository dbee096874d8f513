import { existsSync } from 'node:fs'
import { mkdir, rm, statfs } from 'node:fs/promises'
import { join } from 'node:path'
import { errorMessage } from '../../errors.js'
import { TAIL_CHARS } from '../../protocols/results/index.js'
import { findGroupLeadersByEnv, processIdentity, readExitFile } from '../../exec/index.js'
import { FileCache, safeJoin } from './file-cache.js'
import { DEFAULT_KEEP_TASK_DIRS_MS, DEFAULT_MAX_CACHE_BYTES, sweep } from './janitor.js'
import { entryKey } from './journal.js'
import { Ledger } from './ledger.js'
import { enforceLogLimit } from './log-limit.js'
import { readLogs } from './log-reader.js'
import { readTail } from './tails.js'
import type { Usage } from '../advert.js'
import { bindsNuma } from '../capabilities/index.js'
import type { Capabilities } from '../capabilities/index.js'
import type { Executor, ExitStatus, Handle } from '../../exec/index.js'
import type { RunEntry, RunJournal } from './journal.js'
import type { Logger } from '../logger.js'
import type { TaskRecords } from '../store/task-records.js'
import type { CancelReply } from '../../protocols/cancel/index.js'
import type { HeldFile } from '../../protocols/file/index.js'
import type { FinalReply, OfferHandler, OfferSession, TaskOffer } from '../../protocols/push/index.js'
import type { TaskRecord } from '../../protocols/results/index.js'
import type { LogChunk } from './log-reader.js'
import type { Reservation } from './ledger.js'
import type { Candidate } from '../placement/index.js'

export interface RunnerComponents {
  peerId: string
  name: () => string
  tags: () => string[]
  home: string
  capabilities: Capabilities
  usage: Usage
  executor: Executor
  records: TaskRecords
  /** stores locally and gossips a record this node signs */
  publish: (record: TaskRecord) => Promise<void>
  /** capacity changed: advertise now rather than at the next heartbeat */
  capacityChanged: () => void
  /** accepted tasks not yet reported final, synced to disk before "accepted" */
  journal: RunJournal
  /** per log file; past it the oldest half is dropped (default 64 MiB) */
  maxLogBytes?: number
  /** a finished task's work dir and logs are removed this long after it ended (default 7 days) */
  keepTaskDirsMs?: number
  /** the file cache is trimmed to this, least recently used first (default 10 GiB) */
  maxCacheBytes?: number
  /** bytes free to this process on the file system of `dir`, or undefined when unknown (default: statfs) */
  freeDiskBytes?: (dir: string) => Promise<number | undefined>
  log: Logger
}

/** What recover() found after a restart. */
export interface Recovery {
  adopted: number
  /** ended while the runner was down; their exit files gave the result */
  finished: number
  lost: number
  /** journal entries that do not decode: kept on disk and logged */
  unreadable: number
}

interface Running {
  offer: TaskOffer
  reservation: Reservation
  dir: string
  handle?: Handle
  done: boolean
  startedAt: Date
}

/** An offer not committed within this long releases its reservation (a dispatcher that vanished). */
const RESERVATION_TTL_MS = 120_000
const DEFAULT_MAX_LOG_BYTES = 64 * 1024 * 1024
const LOG_CHECK_MS = 2_000
const RUNNING_RECORD_DELAY_MS = 250
/** disk is swept this often, and soon after a file arrives */
const SWEEP_MS = 10 * 60_000
const SWEEP_AFTER_RECEIVE_MS = 5_000

export class Runner implements OfferHandler {
  private readonly c: RunnerComponents
  private readonly ledger: Ledger
  private readonly cache: FileCache
  private readonly running = new Map<string, Running>()
  private stopping = false
  private readonly logTimer: ReturnType<typeof setInterval>
  private readonly sweepTimer: ReturnType<typeof setInterval>
  private sweepPending?: ReturnType<typeof setTimeout>
  private sweeping?: Promise<void>

  constructor (components: RunnerComponents) {
    this.c = components
    this.ledger = new Ledger(components.peerId, components.capabilities, components.usage, components.tags, components.name)
    this.cache = new FileCache(join(components.home, 'cache'), {
      onChanged: sha256 => { components.log.warn({ component: 'runner', sha256 }, 'a cached file was changed on disk (a task wrote to a read-only input?); dropped, it is fetched again when needed') }
    })
    this.logTimer = setInterval(() => { void this.boundLogs() }, LOG_CHECK_MS)
    this.logTimer.unref()
    this.sweepTimer = setInterval(() => { void this.sweepDisk() }, SWEEP_MS)
    this.sweepTimer.unref()
  }

  /**
   * After a restart: every task the journal holds either still runs (same pid and start time, or
   * found by its MESH_TASK_ID) and is adopted, or ended while the runner was down (its exit file
   * tells how), or is gone and reported `lost` so its dispatcher can try again.
   */
  async recover (): Promise<Recovery> {
    await this.cache.sealOlder().then(
      n => { if (n > 0) this.c.log.info({ component: 'runner', files: n }, 'sealed the mtimes of files cached by an older version') },
      (err: unknown) => { this.c.log.warn({ component: 'runner', err }, 'cannot seal the file cache; older files count as changed and are fetched again') })
    const { entries, unreadable } = await this.c.journal.read()
    for (const u of unreadable) this.c.log.warn({ component: 'runner', entry: u.key, reason: u.reason }, 'journal entry does not decode; kept on disk, not recovered')
    const out: Recovery = { adopted: 0, finished: 0, lost: 0, unreadable: unreadable.length }
    for (const entry of entries) {
      const kind = await this.recoverOne(entry).catch((err: unknown) => {
        this.c.log.error({ component: 'runner', task: entry.offer.id, err }, 'recovering a task failed')
        return 'lost' as const
      })
      out[kind]++
    }
    if (entries.length > 0) this.c.log.info({ component: 'runner', ...out }, 'recovered tasks from the journal')
    // recovered tasks are in `running` now: their dirs are safe from the first sweep
    void this.sweepDisk()
    return out
  }

  private async recoverOne (entry: RunEntry): Promise<'adopted' | 'finished' | 'lost'> {
    const { offer, reservation } = entry
    const key = entryKey(offer)
    const dir = join(this.c.home, 'tasks', key)
    const exitFile = join(dir, 'exit')
    const startedAt = new Date(entry.startedAt)
    const run: Running = { offer, reservation, dir, done: false, startedAt }
    this.ledger.restore(reservation)
    this.running.set(key, run)
    const adopt = async (pid: number, startTime: string): Promise<Handle | undefined> =>
      this.c.executor.adopt?.({ taskId: offer.id, attempt: offer.attempt, pid, startTime, exitFile, startedAt, timeoutMs: offer.timeoutSec * 1000 })
    let handle = entry.pid != null && entry.startTime != null ? await adopt(entry.pid, entry.startTime) : undefined
    if (handle == null && entry.pid == null) {
      // killed between launch and journaling the pid: look for it by its environment
      const [found] = await findGroupLeadersByEnv({ MESH_TASK_ID: offer.id, MESH_ATTEMPT: String(offer.attempt) })
      if (found != null) handle = await adopt(found.pid, found.startTime)
    }
    if (handle != null) {
      run.handle = handle
      this.c.log.info({ component: 'runner', task: offer.id, attempt: offer.attempt, pid: handle.pid }, 'adopted a task that kept running while the runner was down')
      await this.c.publish(this.record(run, { state: 'running', exitCode: null, finishedAt: null, error: null }))
        .catch((err: unknown) => { this.c.log.warn({ component: 'runner', task: offer.id, err }, 'publishing the running record failed') })
      this.watch(run)
      return 'adopted'
    }
    const recorded = await readExitFile(exitFile)
    if (recorded == null) {
      await this.report(run, { state: 'lost', error: 'the runner restarted and the task\'s process was gone (no exit status recorded)' })
      return 'lost'
    }
    const status: ExitStatus = recorded.exitCode === 0
      ? { state: 'succeeded', exitCode: 0, signal: null, startedAt, finishedAt: new Date() }
      : { state: 'failed', exitCode: recorded.exitCode, signal: recorded.signal, startedAt, finishedAt: new Date(), error: recorded.exitCode != null ? `exited with code ${recorded.exitCode}` : `killed by signal ${recorded.signal ?? 'unknown'}` }
    await this.report(run, { state: status.state, exitCode: status.exitCode, error: status.error ?? null, note: 'ended while the runner was down' })
    return 'finished'
  }

  async open (offer: TaskOffer, from: string): Promise<OfferSession> {
    const reject = (reason: string): OfferSession => ({
      reply: { status: 'rejected', reason },
      receive: async () => { throw new Error(reason) },
      commit: async () => ({ status: 'rejected', reason }),
      abort: () => {},
      extend: () => {}
    })
    if (this.stopping) return reject('runner is stopping')
    if (from !== offer.dispatcher) return reject(`offer from ${from} claims dispatcher ${offer.dispatcher}`)
    for (const f of offer.files) {
      try { safeJoin('/work', f.dest) } catch (err) { return reject(errorMessage(err)) }
    }
    const key = runKey(offer)
    if (this.running.has(key)) return reject(`task ${offer.id} attempt ${offer.attempt} is already here`)
    const missing: string[] = []
    for (const f of offer.files) {
      if (!missing.includes(f.sha256) && !(await this.cache.has(f.sha256))) missing.push(f.sha256)
    }
    const short = await this.diskShortfall(offer, missing)
    if (short != null) return reject(`${this.c.name()}: ${short}`)
    const reserved = this.ledger.reserve({ taskId: key, ...offer.resources, tags: offer.tags })
    if (!reserved.ok) return reject(`${this.c.name()}: ${reserved.reason}`)
    this.c.capacityChanged()

    let settled = false
    const release = (): void => {
      if (settled) return
      settled = true
      clearTimeout(ttl)
      this.ledger.release(key)
      this.c.capacityChanged()
    }
    // counted from the dispatcher's last sign of work (a file chunk, a notice that it awaits a
    // source), so a big input on a slow link does not outlive its reservation
    const ttl = setTimeout(release, RESERVATION_TTL_MS)
    ttl.unref()
    const extend = (): void => {
      if (!settled) ttl.refresh()
    }
    return {
      reply: { status: 'reserved', numaNode: reserved.reservation.numaNode, missing },
      extend,
      receive: async (sha, size, chunks) => {
        await this.cache.receive(sha, size, chunks)
        this.sweepSoon()
      },
      abort: (reason) => {
        this.c.log.info({ component: 'runner', task: offer.id, reason }, 'offer abandoned')
        release()
      },
      commit: async () => {
        if (settled) return { status: 'rejected', reason: 'reservation expired' }
        settled = true
        clearTimeout(ttl)
        try {
          return await this.launch(offer, reserved.reservation)
        } catch (err) {
          this.ledger.release(key)
          this.c.capacityChanged()
          return { status: 'rejected', reason: `${this.c.name()}: cannot start task: ${errorMessage(err)}` }
        }
      }
    }
  }

  /**
   * Why the task's files would not fit on this runner's disk, or null: the files it lacks go to
   * the cache, and every file it copies (not a read-only link) into the work dir, both in the home.
   * Refused up front with the figures, not cut off by ENOSPC halfway through the transfer.
   */
  private async diskShortfall (offer: TaskOffer, missing: string[]): Promise<string | null> {
    const sizeOf = (sha: string): number => offer.files.find(f => f.sha256 === sha)?.size ?? 0
    const needed = missing.reduce((n, sha) => n + sizeOf(sha), 0) +
      offer.files.filter(f => f.readOnly !== true).reduce((n, f) => n + f.size, 0)
    if (needed === 0) return null
    const free = await (this.c.freeDiskBytes ?? freeDiskBytes)(this.c.home)
    if (free == null || needed <= free) return null
    return `not enough disk for the task's files: ${mib(needed)} needed, ${mib(free)} free in ${this.c.home}`
  }

  private async launch (offer: TaskOffer, reservation: Reservation): Promise<FinalReply> {
    const key = runKey(offer)
    const dir = join(this.c.home, 'tasks', key)
    const work = join(dir, 'work')
    await mkdir(work, { recursive: true, mode: 0o700 })
    // an exit file left by an earlier launch must not decide this one's result after a crash
    await rm(join(dir, 'exit'), { force: true })
    for (const f of offer.files) await this.cache.materialise(f, work)
    const run: Running = { offer, reservation, dir, done: false, startedAt: new Date() }
    const entry: RunEntry = { v: 1, offer, reservation, startedAt: run.startedAt.toISOString() }
    // on disk before anything runs: a crash from here on leaves a trace the restart acts on
    await this.c.journal.put(entry)
    this.running.set(key, run)
    try {
      run.handle = await this.c.executor.launch({
      taskId: offer.id,
      attempt: offer.attempt,
      command: offer.command,
      shell: offer.shell,
      env: offer.env,
      cwd: offer.cwd ?? work,
      numaNode: reservation.numaNode,
      numactl: bindsNuma(this.c.capabilities),
      cores: offer.resources.cores,
      memoryMB: offer.resources.memoryMB,
      timeoutMs: offer.timeoutSec * 1000,
      stdout: join(dir, 'stdout.log'),
      stderr: join(dir, 'stderr.log'),
      exitFile: join(dir, 'exit')
      })
    } catch (err) {
      this.running.delete(key)
      await this.c.journal.delete(offer).catch(() => {})
      throw err
    }
    // the identity that lets a restarted runner adopt the task, on disk before "accepted"
    const pid = run.handle.pid
    const id = pid != null ? await processIdentity(pid) : undefined
    if (id != null) {
      await this.c.journal.put({ ...entry, pid: id.pid, startTime: id.startTime })
        .catch((err: unknown) => { this.c.log.warn({ component: 'runner', task: offer.id, err }, 'journaling the task\'s pid failed; a restart will look for it by environment') })
    }
    // from here the process runs: a failed announcement must not turn into a refusal, or the
    // dispatcher would start the task a second time elsewhere. A task that ends within
    // RUNNING_RECORD_DELAY_MS is announced once, by its final record: half the signed gossip of a
    // short task (its dispatcher knows where it runs from the push reply)
    setTimeout(() => {
      if (run.done) return
      this.c.publish(this.record(run, { state: 'running', exitCode: null, finishedAt: null, error: null }))
        .catch((err: unknown) => { this.c.log.warn({ component: 'runner', task: offer.id, err }, 'publishing the running record failed') })
    }, RUNNING_RECORD_DELAY_MS).unref()
    this.watch(run)
    return { status: 'accepted', numaNode: reservation.numaNode }
  }

  /** Reports the task's end once its handle resolves. */
  private watch (run: Running): void {
    void this.finish(run).catch((err: unknown) => {
      const key = runKey(run.offer)
      this.running.delete(key)
      this.ledger.release(key)
      this.c.log.error({ component: 'runner', task: run.offer.id, err }, 'finishing the task failed')
    })
  }

  private async finish (run: Running): Promise<void> {
    const status = await run.handle!.wait()
    const lost = this.stopping && status.state === 'cancelled'
    await this.report(run, lost
      ? { state: 'lost', exitCode: status.exitCode, error: 'the runner stopped while the task ran' }
      : { state: status.state, exitCode: status.exitCode, error: status.error ?? null })
  }

  /** Publishes the final record (with the logs' tails), then forgets the task. */
  private async report (run: Running, end: { state: TaskRecord['state'], exitCode?: number | null, error: string | null, note?: string }): Promise<void> {
    const key = runKey(run.offer)
    run.done = true
    this.ledger.release(key)
    this.c.capacityChanged()
    const [stdout, stderr] = await Promise.all([
      readTail(join(run.dir, 'stdout.log'), TAIL_CHARS),
      readTail(join(run.dir, 'stderr.log'), TAIL_CHARS)
    ])
    await this.c.publish(this.record(run, {
      state: end.state,
      exitCode: end.exitCode ?? null,
      finishedAt: new Date().toISOString(),
      error: end.note != null ? `${end.error ?? 'no error'} (${end.note})` : end.error,
      stdout,
      stderr
    }))
    // stored locally by publish: from here the record, not the journal, says how it ended
    await this.c.journal.delete(run.offer).catch((err: unknown) => { this.c.log.warn({ component: 'runner', task: run.offer.id, err }, 'journal entry not removed') })
    this.running.delete(key)
    this.c.log.info({ component: 'runner', task: run.offer.id, attempt: run.offer.attempt, state: end.state, exitCode: end.exitCode ?? null }, 'task finished')
  }

  /**
   * Bounds the disk this runner uses (janitor.ts): finished tasks' dirs after keepTaskDirsMs, the
   * file cache to maxCacheBytes. One sweep at a time; a failure is logged and retried next time.
   */
  async sweepDisk (now?: number): Promise<void> {
    if (this.sweeping != null) return this.sweeping
    this.sweeping = (async () => {
      try {
        const r = await sweep({
          tasksDir: join(this.c.home, 'tasks'),
          cacheDir: this.cache.root,
          keepTaskDirsMs: this.c.keepTaskDirsMs ?? DEFAULT_KEEP_TASK_DIRS_MS,
          maxCacheBytes: this.c.maxCacheBytes ?? DEFAULT_MAX_CACHE_BYTES,
          inUse: () => new Set(this.running.keys()),
          ...(now != null ? { now } : {})
        })
        if (r.taskDirs + r.cacheFiles > 0) this.c.log.info({ component: 'runner', ...r }, 'removed old task dirs and cached files')
      } catch (err) {
        this.c.log.warn({ component: 'runner', reason: errorMessage(err) }, 'disk sweep failed; retried at the next one')
      } finally {
        this.sweeping = undefined
      }
    })()
    return this.sweeping
  }

  private sweepSoon (): void {
    if (this.sweepPending != null || this.stopping) return
    this.sweepPending = setTimeout(() => {
      this.sweepPending = undefined
      void this.sweepDisk()
    }, SWEEP_AFTER_RECEIVE_MS)
    this.sweepPending.unref()
  }

  /** Keeps every running task's stored logs under maxLogBytes. */
  private async boundLogs (): Promise<void> {
    const max = this.c.maxLogBytes ?? DEFAULT_MAX_LOG_BYTES
    for (const run of this.running.values()) {
      if (run.done) continue
      for (const name of ['stdout.log', 'stderr.log']) {
        if (await enforceLogLimit(join(run.dir, name), max).catch(() => false)) {
          this.c.log.warn({ component: 'runner', task: run.offer.id, log: name, maxBytes: max }, 'task log over its limit; oldest output dropped')
        }
      }
    }
  }

  private record (run: Running, part: Partial<TaskRecord> & Pick<TaskRecord, 'state' | 'exitCode' | 'finishedAt' | 'error'>): TaskRecord {
    const o = run.offer
    return {
      id: o.id,
      name: o.name,
      runner: this.c.peerId,
      runnerName: this.c.name(),
      numaNode: run.reservation.numaNode,
      attempt: o.attempt,
      dispatcher: o.dispatcher,
      group: o.group,
      tags: o.tags,
      submittedAt: o.submittedAt,
      startedAt: run.startedAt.toISOString(),
      stdout: '',
      stderr: '',
      updatedAt: Date.now(),
      ...part
    }
  }

  /** A file of the cache, or one still arriving, for a peer to fetch (the file protocol). */
  async openFile (sha256: string): Promise<HeldFile | undefined> {
    return this.cache.open(sha256)
  }

  /** This node as a placement candidate, with its capacity as the ledger sees it now. */
  candidate (): Candidate {
    return this.ledger.candidate()
  }

  /** Output of a task this runner ran (its newest attempt here), or undefined. */
  logs (taskId: string, follow: boolean, signal: AbortSignal): AsyncIterable<LogChunk> | undefined {
    const run = [...this.running.values()].filter(r => r.offer.id === taskId).sort((a, b) => b.offer.attempt - a.offer.attempt)[0]
    return this.logsOf(taskId, run, follow, signal)
  }

  private logsOf (taskId: string, run: Running | undefined, follow: boolean, signal: AbortSignal): AsyncIterable<LogChunk> | undefined {
    if (run != null) {
      return readLogs({ stdout: join(run.dir, 'stdout.log'), stderr: join(run.dir, 'stderr.log') }, { follow, isDone: () => run.done, signal })
    }
    const home = this.c.home
    const records = this.c.records
    const self = this.c.peerId
    // finished: the record says which attempt ran here
    return (async function * () {
      const rec = await records.get(taskId)
      if (rec == null || rec.runner !== self) throw new Error('not here')
      const dir = join(home, 'tasks', `${taskId}.${rec.attempt}`)
      if (!existsSync(dir)) throw new Error(`they were removed with the task's dir (keepTaskDirsMs); \`mesh status ${taskId}\` shows their last lines`)
      yield * readLogs({ stdout: join(dir, 'stdout.log'), stderr: join(dir, 'stderr.log') }, { follow: false, isDone: () => true, signal })
    })()
  }

  async cancel (taskId: string): Promise<CancelReply> {
    const runs = [...this.running.values()].filter(r => r.offer.id === taskId && !r.done)
    if (runs.length === 0) return { status: 'unknown', message: `task ${taskId} is not running on ${this.c.name()}` }
    await Promise.all(runs.map(async r => r.handle?.cancel('cancelled by request')))
    return { status: 'cancelled', message: `task ${taskId} cancelled on ${this.c.name()}` }
  }

  isRunningHere (taskId: string): boolean {
    return [...this.running.values()].some(r => r.offer.id === taskId)
  }

  /** `mesh stop`: kills what still runs and reports it lost, so dispatchers reschedule it (a SIGKILL leaves it running for recover()). */
  async stop (): Promise<void> {
    this.stopping = true
    clearInterval(this.logTimer)
    clearInterval(this.sweepTimer)
    clearTimeout(this.sweepPending)
    await this.sweeping
    await Promise.all([...this.running.values()].map(async r => r.handle?.cancel('runner stopping')))
    const deadline = Date.now() + 5_000
    while (this.running.size > 0 && Date.now() < deadline) await new Promise(resolve => setTimeout(resolve, 50))
    await this.c.executor.shutdown()
  }
}

function runKey (offer: TaskOffer): string {
  return `${offer.id}.${offer.attempt}`
}

/** bytes an unprivileged writer may still use on the file system of `dir` (statfs's bavail) */
async function freeDiskBytes (dir: string): Promise<number | undefined> {
  try {
    const st = await statfs(dir)
    return st.bavail * st.bsize
  } catch {
    return undefined
  }
}

function mib (bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(bytes < 10 * 2 ** 20 ? 1 : 0)} MiB`
}
