import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { errorMessage } from '../../errors.js'
import { TAIL_CHARS } from '../../protocols/results/index.js'
import { FileCache, safeJoin } from './file-cache.js'
import { Ledger } from './ledger.js'
import { readLogs } from './log-reader.js'
import { readTail } from './tails.js'
import type { Usage } from '../advert.js'
import type { Capabilities } from '../capabilities/index.js'
import type { Executor, Handle } from '../../exec/index.js'
import type { Logger } from '../logger.js'
import type { TaskRecords } from '../store/task-records.js'
import type { CancelReply } from '../../protocols/cancel/index.js'
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
  log: Logger
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

export class Runner implements OfferHandler {
  private readonly c: RunnerComponents
  private readonly ledger: Ledger
  private readonly cache: FileCache
  private readonly running = new Map<string, Running>()
  private stopping = false

  constructor (components: RunnerComponents) {
    this.c = components
    this.ledger = new Ledger(components.peerId, components.capabilities, components.usage, components.tags)
    this.cache = new FileCache(join(components.home, 'cache'))
  }

  async open (offer: TaskOffer, from: string): Promise<OfferSession> {
    const reject = (reason: string): OfferSession => ({
      reply: { status: 'rejected', reason },
      receive: async () => { throw new Error(reason) },
      commit: async () => ({ status: 'rejected', reason }),
      abort: () => {}
    })
    if (this.stopping) return reject('runner is stopping')
    if (from !== offer.dispatcher) return reject(`offer from ${from} claims dispatcher ${offer.dispatcher}`)
    for (const f of offer.files) {
      try { safeJoin('/work', f.dest) } catch (err) { return reject(errorMessage(err)) }
    }
    const key = runKey(offer)
    if (this.running.has(key)) return reject(`task ${offer.id} attempt ${offer.attempt} is already here`)
    const reserved = this.ledger.reserve({ taskId: key, ...offer.resources, tags: offer.tags })
    if (!reserved.ok) return reject(`${this.c.name()}: ${reserved.reason}`)
    this.c.capacityChanged()

    const missing: string[] = []
    for (const f of offer.files) {
      if (!missing.includes(f.sha256) && !(await this.cache.has(f.sha256))) missing.push(f.sha256)
    }
    let settled = false
    const release = (): void => {
      if (settled) return
      settled = true
      clearTimeout(ttl)
      this.ledger.release(key)
      this.c.capacityChanged()
    }
    const ttl = setTimeout(release, RESERVATION_TTL_MS)
    ttl.unref()
    return {
      reply: { status: 'reserved', numaNode: reserved.reservation.numaNode, missing },
      receive: async (sha, size, chunks) => { await this.cache.receive(sha, size, chunks) },
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

  private async launch (offer: TaskOffer, reservation: Reservation): Promise<FinalReply> {
    const key = runKey(offer)
    const dir = join(this.c.home, 'tasks', key)
    const work = join(dir, 'work')
    await mkdir(work, { recursive: true, mode: 0o700 })
    for (const f of offer.files) await this.cache.materialise(f.sha256, work, f.dest)
    const run: Running = { offer, reservation, dir, done: false, startedAt: new Date() }
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
      numactl: this.c.capabilities.numactl,
      cores: offer.resources.cores,
      memoryMB: offer.resources.memoryMB,
      timeoutMs: offer.timeoutSec * 1000,
      stdout: join(dir, 'stdout.log'),
      stderr: join(dir, 'stderr.log')
      })
    } catch (err) {
      this.running.delete(key)
      throw err
    }
    // from here the process runs: a failed announcement must not turn into a refusal, or the
    // dispatcher would start the task a second time elsewhere
    await this.c.publish(this.record(run, { state: 'running', exitCode: null, finishedAt: null, error: null }))
      .catch((err: unknown) => { this.c.log.warn({ component: 'runner', task: offer.id, err }, 'publishing the running record failed') })
    void this.finish(run).catch((err: unknown) => {
      this.running.delete(key)
      this.ledger.release(key)
      this.c.log.error({ component: 'runner', task: offer.id, err }, 'finishing the task failed')
    })
    return { status: 'accepted', numaNode: reservation.numaNode }
  }

  private async finish (run: Running): Promise<void> {
    const key = runKey(run.offer)
    const status = await run.handle!.wait()
    run.done = true
    this.ledger.release(key)
    this.c.capacityChanged()
    const [stdout, stderr] = await Promise.all([
      readTail(join(run.dir, 'stdout.log'), TAIL_CHARS),
      readTail(join(run.dir, 'stderr.log'), TAIL_CHARS)
    ])
    const state = this.stopping && status.state === 'cancelled' ? 'lost' : status.state
    await this.c.publish(this.record(run, {
      state,
      exitCode: status.exitCode,
      finishedAt: status.finishedAt.toISOString(),
      error: state === 'lost' ? 'the runner stopped while the task ran' : status.error ?? null,
      stdout,
      stderr,
      startedAt: status.startedAt.toISOString()
    }))
    this.running.delete(key)
    this.c.log.info({ component: 'runner', task: run.offer.id, attempt: run.offer.attempt, state, exitCode: status.exitCode }, 'task finished')
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

  /** Kills what still runs and reports it lost (adoption after restart is the reliability issue's). */
  async stop (): Promise<void> {
    this.stopping = true
    await Promise.all([...this.running.values()].map(async r => r.handle?.cancel('runner stopping')))
    const deadline = Date.now() + 5_000
    while (this.running.size > 0 && Date.now() < deadline) await new Promise(resolve => setTimeout(resolve, 50))
    await this.c.executor.shutdown()
  }
}

function runKey (offer: TaskOffer): string {
  return `${offer.id}.${offer.attempt}`
}
