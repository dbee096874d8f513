import { setTimeout as sleep } from 'node:timers/promises'
import { peerIdFromString } from '@libp2p/peer-id'
import merge from 'it-merge'
import { MeshError, errorMessage } from '../../errors.js'
import { pushLocal } from '../../protocols/push/index.js'
import { FINAL_STATES } from '../../protocols/results/index.js'
import { formatExclusions, place } from '../placement/index.js'
import { fileSource, stageFiles } from './files.js'
import { newTaskId } from './ids.js'
import type { StagedFile } from './files.js'
import type { Logs } from '../../protocols/logs/index.js'
import type { OfferAuth, OfferHandler, Push, TaskOffer } from '../../protocols/push/index.js'
import type { TaskRecord } from '../../protocols/results/index.js'
import type { Logger } from '../logger.js'
import type { PeerTableApi } from '../peer-table/index.js'
import type { Candidate, Choice, PlacementRequest } from '../placement/index.js'
import type { LogChunk } from '../runner/log-reader.js'
import type { RecordDb, TaskRecords } from '../store/task-records.js'
import type { TaskSpec } from '../task/index.js'

export interface DispatchRequest {
  /** parsed task file; `files[].src` are absolute */
  spec: TaskSpec
  /** peer id or name, optionally a NUMA node */
  target?: { peer: string, numa?: number }
  all: boolean
  waitMs: number
}

export type DispatchEvent =
  | { type: 'submitted', id: string }
  | { type: 'placed', id: string, runner: string, runnerName: string, numaNode: number | null }
  | { type: 'output', id: string, runnerName: string, stream: 'stdout' | 'stderr', data: string }
  | { type: 'result', record: TaskRecord }
  | { type: 'unplaceable', id: string, reason: string }

export interface DispatcherComponents {
  peerId: string
  name: () => string
  table: PeerTableApi
  self: () => Candidate
  push: Push
  local: OfferHandler
  auth: OfferAuth
  logs: Logs
  localLogs: (taskId: string, follow: boolean, signal: AbortSignal) => AsyncIterable<LogChunk> | undefined
  records: TaskRecords
  publish: (record: TaskRecord) => Promise<void>
  /** tasks still waiting for a runner, so a restarted dispatcher resumes them */
  queue: RecordDb
  log: Logger
}

/** What the queue keeps of a job: enough to place it again after a restart. */
interface QueuedJob {
  id: string
  request: DispatchRequest
  files: StagedFile[]
  submittedAt: string
  deadline: number
}

interface Placement { id: string, runner: string, runnerName: string, numaNode: number | null }

interface Job extends QueuedJob {
  placed: Promise<Placement[]>
  /** set once placement succeeded: from then on cancelling means asking the runners */
  placements?: Placement[]
  controller: AbortController
}

const RETRY_EVERY_MS = 500

export class Dispatcher {
  private readonly c: DispatcherComponents
  private readonly jobs = new Map<string, Job>()
  private readonly controller = new AbortController()

  constructor (components: DispatcherComponents) {
    this.c = components
  }

  /** Resumes the tasks a previous run of this daemon left in the queue. */
  async start (): Promise<void> {
    for await (const [id, value] of this.c.queue.iterator()) {
      try {
        const queued = JSON.parse(value) as QueuedJob
        if (queued.id !== id || typeof queued.deadline !== 'number' || queued.request?.spec == null) throw new Error('malformed')
        this.c.log.info({ component: 'dispatch', task: id }, 'resuming queued task')
        this.run({ ...queued, controller: new AbortController(), placed: Promise.resolve([]) })
      } catch (err) {
        this.c.log.warn({ component: 'dispatch', task: id, reason: errorMessage(err) }, 'queued task does not decode; kept on disk, ignored')
      }
    }
  }

  async stop (): Promise<void> {
    this.controller.abort()
    await Promise.allSettled([...this.jobs.values()].map(async j => j.placed))
  }

  /** Stages and queues a task; placement goes on in the background, also without a watcher. */
  async submit (request: DispatchRequest): Promise<string> {
    if (request.target != null) {
      // a bad --target is a usage error now, not a task that sits queued
      request = { ...request, target: { ...request.target, peer: this.resolvePeer(request.target.peer, [this.c.self(), ...this.candidates()]) } }
    }
    const files = await stageFiles(request.spec.files)
    const id = newTaskId()
    const submittedAt = new Date().toISOString()
    const job: Job = { id, request, files, submittedAt, deadline: Date.now() + request.waitMs, controller: new AbortController(), placed: Promise.resolve([]) }
    const queued: QueuedJob = { id, request, files, submittedAt, deadline: job.deadline }
    // persisted before anything is announced: a crash after this point resumes the task
    await this.c.queue.put(id, JSON.stringify(queued))
    await this.c.publish(this.dispatcherRecord(job, id, 'queued', null))
    this.run(job)
    return id
  }

  private run (job: Job): void {
    job.placed = this.place(job).catch(async (err: unknown) => {
      // every way out of placement ends in a final record, except a daemon stopping (it resumes)
      const stopping = this.controller.signal.aborted
      const cancelled = job.controller.signal.aborted
      if (!stopping && !cancelled && (err as MeshError).exitCode !== 3) {
        await this.c.publish({ ...this.dispatcherRecord(job, job.id, 'rejected', null), error: `dispatch failed: ${errorMessage(err)}`.slice(0, 2000), finishedAt: new Date().toISOString() })
          .catch(() => {})
      }
      throw err
    })
    job.placed.then(p => { job.placements = p }, () => {})
    // leaves the queue once placed, refused or cancelled; a daemon stopping keeps it for next start
    job.placed.then(
      async () => this.c.queue.del(job.id),
      async () => { if (!this.controller.signal.aborted) await this.c.queue.del(job.id) }
    ).catch((err: unknown) => { this.c.log.warn({ component: 'dispatch', task: job.id, err }, 'queue update failed') })
      .finally(() => { setTimeout(() => this.jobs.delete(job.id), 60_000).unref() })
    this.jobs.set(job.id, job)
  }

  /** Runners a task (or each task of a --all group) was placed on by this node, if known. */
  runnersOf (id: string): string[] {
    const group = this.jobs.get(id)?.placements ?? [...this.jobs.values()].flatMap(j => j.placements ?? []).filter(p => p.id === id)
    return group.map(p => p.runner)
  }

  /** Cancels a task still waiting for a runner; false when this node holds no such queued task. */
  async cancelQueued (id: string): Promise<boolean> {
    const job = this.jobs.get(id)
    if (job == null || job.controller.signal.aborted || job.placements != null) return false
    const record = await this.c.records.get(id)
    if (record != null && record.state !== 'queued') return false
    job.controller.abort(new MeshError(`task ${id} was cancelled before it was placed`, 130))
    await this.c.publish({ ...this.dispatcherRecord(job, id, 'cancelled', null), error: 'cancelled while queued', finishedAt: new Date().toISOString() })
    return true
  }

  private async place (job: Job): Promise<Placement[]> {
    const { spec, target, all } = job.request
    const { deadline } = job
    const signal = AbortSignal.any([this.controller.signal, job.controller.signal])
    let lastReasons = 'no peer known'
    while (!signal.aborted) {
      const candidates = [this.c.self(), ...this.candidates()]
      const req: PlacementRequest = {
        taskId: job.id,
        tags: spec.tags,
        cores: spec.resources.cores,
        memoryMB: spec.resources.memoryMB,
        gpus: spec.resources.gpus,
        numa: spec.resources.numa,
        ...(target != null ? { target: { peerId: this.resolvePeer(target.peer, candidates), ...(target.numa != null ? { numa: target.numa } : {}) } } : {})
      }
      const result = place(req, candidates)
      const rejections: string[] = []
      if (result.ok) {
        const placed = all ? await this.pushAll(job, result.choices, candidates, rejections) : await this.pushFirst(job, result.choices, candidates, rejections)
        if (placed.length > 0) return placed
      }
      // formatExclusions says "no peer can take the task: …"; keep only the reasons
      const excluded = result.excluded.length > 0 ? formatExclusions(result.excluded).replace(/^no peer can take the task: /, '') : ''
      lastReasons = [excluded, ...rejections].filter(s => s !== '').join('; ')
      if (Date.now() >= deadline) break
      await sleep(RETRY_EVERY_MS, undefined, { signal }).catch(() => {})
    }
    if (job.controller.signal.aborted) throw abortReason(job.controller.signal)
    if (this.controller.signal.aborted) throw new MeshError('the dispatcher is stopping; the task stays queued for its next start')
    const reason = `no peer can take the task: ${lastReasons || 'none matched'}`
    await this.c.publish({ ...this.dispatcherRecord(job, job.id, 'rejected', null), error: reason.slice(0, 2000), finishedAt: new Date().toISOString() })
    throw new MeshError(reason, 3)
  }

  private async pushFirst (job: Job, choices: Choice[], candidates: Candidate[], rejections: string[]): Promise<Placement[]> {
    for (const choice of choices) {
      const p = await this.pushTo(job, job.id, choice, candidates, rejections)
      if (p != null) return [p]
    }
    return []
  }

  /** --all: one child task per matching peer, ids `<id>-1`, `<id>-2`, … grouped under `<id>`. */
  private async pushAll (job: Job, choices: Choice[], candidates: Candidate[], rejections: string[]): Promise<Placement[]> {
    const placed = await Promise.all(choices.map(async (choice, i) => this.pushTo(job, `${job.id}-${i + 1}`, choice, candidates, rejections)))
    return placed.filter((p): p is Placement => p != null)
  }

  private async pushTo (job: Job, id: string, choice: Choice, candidates: Candidate[], rejections: string[]): Promise<Placement | undefined> {
    const offer = this.offer(job, id, choice)
    const source = fileSource(job.files)
    const reply = choice.peerId === this.c.peerId
      ? await pushLocal(this.c.local, this.c.auth, offer, source, this.c.peerId)
      : await this.c.push.push(peerIdFromString(choice.peerId), offer, source, { signal: AbortSignal.any([this.controller.signal, job.controller.signal]) })
    const runnerName = candidates.find(x => x.peerId === choice.peerId)?.name ?? choice.peerId
    if (reply.status === 'accepted') {
      this.c.log.info({ component: 'dispatch', task: id, peer: choice.peerId, numa: reply.numaNode, sentFiles: reply.sentFiles }, 'task placed')
      return { id, runner: choice.peerId, runnerName, numaNode: reply.numaNode }
    }
    rejections.push(`${runnerName}: ${reply.reason}`)
    return undefined
  }

  private offer (job: Job, id: string, choice: Choice): TaskOffer {
    const s = job.request.spec
    return {
      v: 1,
      id,
      group: job.id,
      attempt: 1,
      dispatcher: this.c.peerId,
      submittedAt: job.submittedAt,
      name: s.name,
      command: s.command,
      shell: s.shell,
      env: s.env,
      cwd: s.cwd ?? null,
      tags: s.tags,
      resources: { cores: s.resources.cores, memoryMB: s.resources.memoryMB, gpus: s.resources.gpus, numa: choice.numaNode ?? s.resources.numa },
      timeoutSec: s.timeoutSec,
      files: job.files.map(f => ({ dest: f.dest, sha256: f.sha256, size: f.size, mode: f.mode }))
    }
  }

  private candidates (): Candidate[] {
    return this.c.table.list().filter(p => p.advert.peerId !== this.c.peerId).map(p => ({
      peerId: p.advert.peerId,
      name: p.advert.name,
      online: p.state === 'online',
      tags: p.advert.tags,
      numa: p.advert.numa,
      gpus: p.advert.gpus.length,
      freeGpus: p.advert.gpus.length,
      running: p.advert.running,
      numactl: p.advert.numactl
    }))
  }

  /** A target may be given by peer id or by name; a name must be unambiguous. */
  private resolvePeer (peer: string, candidates: Candidate[]): string {
    if (candidates.some(c => c.peerId === peer)) return peer
    const named = candidates.filter(c => c.name === peer || (c.peerId === this.c.peerId && peer === this.c.name()))
    if (named.length === 1) return named[0]!.peerId
    if (named.length > 1) throw new MeshError(`--target ${peer}: ${named.length} peers have that name; use a peer id`, 2)
    return peer
  }

  private dispatcherRecord (job: Job, id: string, state: TaskRecord['state'], error: string | null): TaskRecord {
    return {
      id,
      name: job.request.spec.name,
      state,
      exitCode: null,
      runner: null,
      runnerName: null,
      numaNode: null,
      attempt: 1,
      dispatcher: this.c.peerId,
      group: job.id,
      tags: job.request.spec.tags,
      submittedAt: job.submittedAt,
      startedAt: null,
      finishedAt: null,
      stdout: '',
      stderr: '',
      error,
      updatedAt: Date.now()
    }
  }

  /**
   * Follows a task this node dispatched: placement, live output (when `follow`), final records.
   * Ends after every placed task has a final record.
   */
  async * watch (id: string, follow: boolean, signal: AbortSignal): AsyncGenerator<DispatchEvent> {
    const job = this.jobs.get(id)
    if (job == null) throw new MeshError(`task ${id} was not dispatched by this node`, 1)
    let placements: Placement[]
    try {
      placements = await abortable(job.placed, signal)
    } catch (err) {
      if ((err as MeshError).exitCode === 3) {
        yield { type: 'unplaceable', id, reason: errorMessage(err) }
        return
      }
      throw err
    }
    for (const p of placements) yield { type: 'placed', ...p }
    yield * merge(...placements.map(p => this.followOne(p, follow, signal)))
  }

  private async * followOne (p: Placement, follow: boolean, signal: AbortSignal): AsyncGenerator<DispatchEvent> {
    if (follow) {
      try {
        const source = p.runner === this.c.peerId
          ? this.c.localLogs(p.id, true, signal)
          : this.c.logs.fetch(peerIdFromString(p.runner), p.id, true, signal)
        for await (const chunk of source ?? []) {
          yield { type: 'output', id: p.id, runnerName: p.runnerName, stream: chunk.stream, data: Buffer.from(chunk.data).toString('base64') }
        }
      } catch (err) {
        this.c.log.warn({ component: 'dispatch', task: p.id, reason: errorMessage(err) }, 'following output failed; waiting for the result')
      }
    }
    yield { type: 'result', record: await this.finalRecord(p.id, signal) }
  }

  /** Resolves with the task's final record, from the store or when gossip brings it. */
  async finalRecord (id: string, signal: AbortSignal): Promise<TaskRecord> {
    let unsubscribe = (): void => {}
    try {
      return await new Promise<TaskRecord>((resolve, reject) => {
        unsubscribe = this.c.records.subscribe(r => { if (r.id === id && FINAL_STATES.has(r.state)) resolve(r) })
        signal.addEventListener('abort', () => { reject(abortReason(signal)) }, { once: true })
        this.c.records.get(id).then(r => { if (r != null && FINAL_STATES.has(r.state)) resolve(r) }, reject)
      })
    } finally {
      unsubscribe()
    }
  }
}

async function abortable<T> (p: Promise<T>, signal: AbortSignal): Promise<T> {
  return Promise.race([p, new Promise<never>((_resolve, reject) => {
    if (signal.aborted) reject(abortReason(signal))
    signal.addEventListener('abort', () => { reject(abortReason(signal)) }, { once: true })
  })])
}

function abortReason (signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new Error('aborted')
}
