import { setTimeout as sleep } from 'node:timers/promises'
import { peerIdFromString } from '@libp2p/peer-id'
import merge from 'it-merge'
import { MeshError, errorMessage } from '../../errors.js'
import { pushLocal } from '../../protocols/push/index.js'
import { FINAL_STATES } from '../../protocols/results/index.js'
import { formatExclusions, place } from '../placement/index.js'
import { createFileHashes } from './file-hashes.js'
import { createFileSupply } from './file-supply.js'
import { stageFiles } from './files.js'
import { newTaskId } from './ids.js'
import { DEFAULT_RETRY_POLICY, backoffMs, mayRetry, placeRetryMs } from './retry.js'
import { Track } from './track.js'
import { ReleasedCapacity } from './released.js'
import { PlacementWaits } from './waits.js'
import type { StagedFile, StagedFileChangedError } from './files.js'
import type { RetryPolicy } from './retry.js'
import type { TrackState } from './track.js'
import type { Logs } from '../../protocols/logs/index.js'
import type { FileSupply, OfferAuth, OfferHandler, Push, TaskOffer } from '../../protocols/push/index.js'
import type { TaskRecord } from '../../protocols/results/index.js'
import type { Logger } from '../logger.js'
import type { PeerTableApi, PeerView } from '../peer-table/index.js'
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
  | { type: 'placed', id: string, runner: string, runnerName: string, numaNode: number | null, attempt?: number }
  | { type: 'output', id: string, runnerName: string, stream: 'stdout' | 'stderr', data: string }
  | { type: 'result', record: TaskRecord }
  | { type: 'unplaceable', id: string, reason: string }

/** What the dispatcher needs to know of other nodes' health (the liveness detector). */
export interface RunnerHealth {
  state: (peerId: string) => 'alive' | 'suspect' | 'dead' | 'unknown'
  onDead: (fn: (peerId: string) => void) => () => void
}

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
  /** stores a record of this node's locally without gossiping it (yet) */
  keep?: (record: TaskRecord) => Promise<void>
  /** tasks not yet ended for good, so a restarted dispatcher resumes placing and watching them */
  queue: RecordDb
  /** absent: runners are never declared dead here, only their own `lost` records trigger retries */
  health?: RunnerHealth
  log: Logger
}

export interface DispatcherInit {
  /** tasks waiting for a runner; past it submit() refuses (default 10,000) */
  maxQueued?: number
  retry?: RetryPolicy
  /** after a restart, a runner not heard from within this long is taken for dead (default 30 s) */
  resumeGraceMs?: number
  /** wait before placement round `round + 1` of a task nobody took (default placeRetryMs); a change that lets it fit ends the wait sooner */
  placeRetryMs?: (round: number) => number
}

/** What the queue keeps of a job: enough to place it again, or resume watching it, after a restart. */
interface QueuedJob {
  id: string
  request: DispatchRequest
  files: StagedFile[]
  submittedAt: string
  deadline: number
  /** once placed: one per task (several for --all) */
  tracks?: TrackState[]
  /**
   * the highest attempt number offered before placement was recorded: written ahead of each push,
   * so a dispatcher that crashed mid-push resumes with the next number (two runs never share one)
   */
  offered?: number
}

interface Placement {
  id: string
  runner: string
  runnerName: string
  numaNode: number | null
  attempt: number
  /** a --all child its peer never took: its 'rejected' record says why, and it is over */
  rejected?: boolean
}

interface Job extends Omit<QueuedJob, 'tracks'> {
  placed: Promise<Placement[]>
  /** set once placement succeeded: from then on cancelling means asking the runners */
  tracks?: Track[]
  controller: AbortController
  /** who holds the job's files: every push of the job (--all children, retries) shares it */
  supply?: FileSupply
  /** a staged file changed after it was hashed: no push of this job can succeed, so none is tried again */
  inputChanged?: StagedFileChangedError
}

const DEFAULT_MAX_QUEUED = 10_000
const HEALTH_CHECK_MS = 1_000
const QUEUED_GOSSIP_DELAY_MS = 250

export class Dispatcher {
  private readonly c: DispatcherComponents
  private readonly init: Required<DispatcherInit>
  private readonly jobs = new Map<string, Job>()
  private readonly controller = new AbortController()
  /** jobs not placed yet, for the queue limit */
  private waiting = 0
  /** a big input pushed again is not read and hashed again while it is unchanged */
  private readonly hashes = createFileHashes()
  /** tasks between placement rounds, woken early by peerChanged() */
  private readonly waits = new PlacementWaits()
  /** slots of other runners freed by this node's tasks that their adverts do not show yet */
  private readonly released = new ReleasedCapacity()

  constructor (components: DispatcherComponents, init: DispatcherInit = {}) {
    this.c = components
    this.init = { maxQueued: init.maxQueued ?? DEFAULT_MAX_QUEUED, retry: init.retry ?? DEFAULT_RETRY_POLICY, resumeGraceMs: init.resumeGraceMs ?? 30_000, placeRetryMs: init.placeRetryMs ?? placeRetryMs }
  }

  /** Resumes what a previous run of this daemon left: tasks to place, and placed tasks to watch. */
  async start (): Promise<void> {
    for await (const [id, value] of this.c.queue.iterator()) {
      try {
        const queued = JSON.parse(value) as QueuedJob
        if (queued.id !== id || typeof queued.deadline !== 'number' || queued.request?.spec == null) throw new Error('malformed')
        this.c.log.info({ component: 'dispatch', task: id, placed: queued.tracks != null }, 'resuming a task from the queue')
        const { tracks, ...rest } = queued
        this.run({ ...rest, ...(tracks != null ? { tracks: tracks.map(t => new Track(t)) } : {}), controller: new AbortController(), placed: Promise.resolve([]) }, true)
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
    if (this.waiting >= this.init.maxQueued) {
      throw new MeshError(`this node already holds ${this.waiting} tasks waiting for a runner (the limit is ${this.init.maxQueued}); wait for some to start, or dispatch from another node`, 3)
    }
    if (request.target != null) {
      // a bad --target is a usage error now, not a task that sits queued
      request = { ...request, target: { ...request.target, peer: this.resolvePeer(request.target.peer, [this.c.self(), ...this.candidates()]) } }
    }
    const files = await stageFiles(request.spec.files, this.hashes)
    const id = newTaskId()
    const submittedAt = new Date().toISOString()
    const job: Job = { id, request, files, submittedAt, deadline: Date.now() + request.waitMs, controller: new AbortController(), placed: Promise.resolve([]) }
    // persisted before anything is announced: a crash after this point resumes the task
    await this.persist(job)
    await this.announceQueued(this.dispatcherRecord(job, id, 1, 'queued', null))
    this.run(job, false)
    return id
  }

  /**
   * The `queued` record is kept here at once but gossiped only if the task is still waiting after
   * QUEUED_GOSSIP_DELAY_MS: most tasks are placed in milliseconds, and their runner's records tell
   * the mesh the rest (a third fewer signed messages per short task).
   */
  private async announceQueued (record: TaskRecord): Promise<void> {
    if (this.c.keep == null) {
      await this.c.publish(record)
      return
    }
    await this.c.keep(record)
    setTimeout(() => {
      void this.c.records.get(record.id).then(async held => {
        if (held?.state === 'queued' && held.attempt === record.attempt && held.dispatcher === this.c.peerId) await this.c.publish(record)
      }).catch((err: unknown) => { this.c.log.debug({ component: 'dispatch', task: record.id, reason: errorMessage(err) }, 'queued record not gossiped') })
    }, QUEUED_GOSSIP_DELAY_MS).unref()
  }

  private run (job: Job, resumed: boolean): void {
    this.jobs.set(job.id, job)
    if (job.tracks != null) {
      job.placed = Promise.resolve(job.tracks.map(t => placementOf(t.state)))
    } else {
      this.waiting++
      job.placed = this.placeJob(job).then(placements => {
        job.tracks = placements.map(({ rejected, ...p }) => new Track({ ...p, runner: rejected === true ? null : p.runner, tried: [], done: rejected === true }))
        return placements
      }).finally(() => { this.waiting-- })
    }
    const watched = job.placed.then(async () => {
      await this.persist(job)
      await Promise.all((job.tracks ?? []).filter(t => !t.state.done).map(async t => this.supervise(job, t, resumed)))
    })
    // leaves the queue once every task ended for good, or placement failed; a daemon stopping keeps it
    watched.then(
      async () => { if (!this.controller.signal.aborted) await this.c.queue.del(job.id) },
      async () => { if (!this.controller.signal.aborted) await this.c.queue.del(job.id) }
    ).catch((err: unknown) => { this.c.log.warn({ component: 'dispatch', task: job.id, err }, 'queue update failed') })
      .finally(() => { setTimeout(() => this.jobs.delete(job.id), 60_000).unref() })
  }

  /** First placement of a job: every way out ends in a record, except a daemon stopping (it resumes). */
  private async placeJob (job: Job): Promise<Placement[]> {
    try {
      const { all } = job.request
      return await this.placeTask(job, job.id, (job.offered ?? 0) + 1, [], all)
    } catch (err) {
      const stopping = this.controller.signal.aborted
      const cancelled = job.controller.signal.aborted
      if (!stopping && !cancelled && (err as MeshError).exitCode !== 3) {
        await this.c.publish({ ...this.dispatcherRecord(job, job.id, 1, 'rejected', null), error: `dispatch failed: ${errorMessage(err)}`.slice(0, 2000), finishedAt: new Date().toISOString() })
          .catch(() => {})
      }
      throw err
    }
  }

  /**
   * Watches one placed task until it ends for good. A `lost` record, or its runner declared dead,
   * starts the next attempt elsewhere after a backoff while retries are left (at-least-once).
   */
  private async supervise (job: Job, track: Track, resumed: boolean): Promise<void> {
    const signal = AbortSignal.any([this.controller.signal, job.controller.signal])
    const s = track.state
    try {
      while (!signal.aborted) {
        // resumed between offering an attempt and recording where it went: it may run somewhere
        if (s.runner == null && (s.offered ?? 0) >= s.attempt) s.attempt = (s.offered ?? 0) + 1
        if (s.runner == null && !await this.replace(job, track)) break
        const end = await this.attemptEnd(s, signal, resumed)
        resumed = false
        if (end == null) return
        if (end.kind === 'record') this.freed(job, s, end.record)
        if (end.kind === 'record' && end.record.state !== 'lost') break
        if (end.kind === 'dead') {
          this.c.log.warn({ component: 'dispatch', task: s.id, attempt: s.attempt, runner: s.runner }, 'runner declared dead while running the task')
          await this.c.publish({ ...this.dispatcherRecord(job, s.id, s.attempt, 'lost', null), runner: s.runner, runnerName: s.runnerName, numaNode: s.numaNode, error: `runner ${s.runnerName ?? s.runner ?? '?'} stopped answering while the task ran`, finishedAt: new Date().toISOString() })
        }
        // --all runs once per peer: another peer would run it twice, so a lost child stays lost
        if (job.request.all || !mayRetry(s.attempt, job.request.spec.retries)) break
        await sleep(backoffMs(s.attempt, this.init.retry), undefined, { signal })
        if (s.runner != null) s.tried.push(s.runner)
        Object.assign(s, { attempt: s.attempt + 1, runner: null, runnerName: null, numaNode: null })
        await this.persist(job)
        await this.c.publish(this.dispatcherRecord(job, s.id, s.attempt, 'queued', null))
        this.c.log.info({ component: 'dispatch', task: s.id, attempt: s.attempt, avoid: s.tried }, 'rescheduling a lost task')
      }
    } catch (err) {
      if (!signal.aborted) throw err
    } finally {
      // a stopping daemon resumes the track at its next start; anything else ended it
      if (!this.controller.signal.aborted) {
        track.finish()
        await this.persist(job).catch(() => {})
      }
    }
  }

  /** Places the track's current attempt again; false when nobody took it (a 'rejected' record says why). */
  private async replace (job: Job, track: Track): Promise<boolean> {
    const s = track.state
    try {
      const [p] = await this.placeTask(job, s.id, s.attempt, s.tried, false, Date.now() + job.request.waitMs)
      if (p == null) return false
      s.attempt = p.attempt
      track.placed(p.runner, p.runnerName, p.numaNode)
      await this.persist(job)
      return true
    } catch (err) {
      this.c.log.warn({ component: 'dispatch', task: s.id, attempt: s.attempt, reason: errorMessage(err) }, 'the retry found no runner')
      return false
    }
  }

  /** The final record of the track's current attempt, or 'dead' when its runner dies first; undefined when aborted. */
  private async attemptEnd (s: TrackState, signal: AbortSignal, resumed: boolean): Promise<{ kind: 'record', record: TaskRecord } | { kind: 'dead' } | undefined> {
    const { records, health } = this.c
    const attempt = s.attempt
    const runner = s.runner
    const remote = runner != null && runner !== this.c.peerId
    const since = Date.now()
    const cleanup: Array<() => void> = []
    try {
      return await new Promise((resolve, reject) => {
        const ended = (r: TaskRecord | undefined): void => {
          if (r != null && r.id === s.id && r.attempt === attempt && FINAL_STATES.has(r.state)) resolve({ kind: 'record', record: r })
        }
        cleanup.push(records.subscribe(ended))
        const abort = (): void => { resolve(undefined) }
        signal.addEventListener('abort', abort, { once: true })
        cleanup.push(() => { signal.removeEventListener('abort', abort) })
        if (remote && health != null) {
          cleanup.push(health.onDead(id => { if (id === runner) resolve({ kind: 'dead' }) }))
          // also catches a runner that died while this daemon was down (never seen alive since)
          const timer = setInterval(() => {
            const state = health.state(runner)
            if (state === 'dead' || (resumed && state === 'unknown' && Date.now() - since > this.init.resumeGraceMs)) resolve({ kind: 'dead' })
          }, HEALTH_CHECK_MS)
          cleanup.push(() => { clearInterval(timer) })
        }
        records.get(s.id).then(ended, reject)
        // a superseding record (a later attempt) hides this attempt's end from get(): look at the history too
        records.attempts?.(s.id).then(all => { ended(all.find(r => r.attempt === attempt)) }, () => {})
      })
    } finally {
      for (const fn of cleanup) fn()
    }
  }

  private async persist (job: Job): Promise<void> {
    const queued: QueuedJob = {
      id: job.id,
      request: job.request,
      files: job.files,
      submittedAt: job.submittedAt,
      deadline: job.deadline,
      ...(job.tracks != null ? { tracks: job.tracks.map(t => t.state) } : {}),
      ...(job.offered != null ? { offered: job.offered } : {})
    }
    await this.c.queue.put(job.id, JSON.stringify(queued))
  }

  /** Write-ahead: a crash after this point must not offer the same attempt number again. */
  private async offering (job: Job, id: string, attempt: number): Promise<void> {
    const track = job.tracks?.find(t => t.state.id === id)
    if (track != null) {
      if ((track.state.offered ?? 0) >= attempt) return
      track.state.offered = attempt
    } else {
      if ((job.offered ?? 0) >= attempt) return
      job.offered = attempt
    }
    await this.persist(job)
  }

  /** Runners a task (or each task of a --all group) runs on, as placed by this node, if known. */
  runnersOf (id: string): string[] {
    const tracks = this.jobs.get(id)?.tracks ?? [...this.jobs.values()].flatMap(j => j.tracks ?? []).filter(t => t.state.id === id)
    return tracks.map(t => t.state.runner).filter((r): r is string => r != null)
  }

  /** Cancels a task still waiting for a runner (first or retried attempt); false when none is held here. */
  async cancelQueued (id: string): Promise<boolean> {
    const job = this.jobs.get(id)
    if (job == null || job.controller.signal.aborted) return false
    const waitingRetry = job.tracks?.length === 1 && job.tracks[0]!.state.runner == null && !job.tracks[0]!.state.done
    if (job.tracks != null && !waitingRetry) return false
    const record = await this.c.records.get(id)
    if (record != null && record.state !== 'queued') return false
    job.controller.abort(new MeshError(`task ${id} was cancelled before it was placed`, 130))
    const attempt = job.tracks?.[0]?.state.attempt ?? 1
    await this.c.publish({ ...this.dispatcherRecord(job, id, attempt, 'cancelled', null), error: 'cancelled while queued', finishedAt: new Date().toISOString() })
    return true
  }

  /**
   * Places task `id` (or, with `all`, one child per matching peer), retrying until `deadline`.
   * Runners in `avoid` are only used when no other peer can take it.
   */
  private async placeTask (job: Job, id: string, attempt: number, avoid: string[], all: boolean, deadline = job.deadline): Promise<Placement[]> {
    const signal = AbortSignal.any([this.controller.signal, job.controller.signal])
    let lastReasons = 'no peer known'
    let round = 0
    while (!signal.aborted) {
      if (job.inputChanged != null) throw job.inputChanged
      const candidates = [this.c.self(), ...this.candidates()]
      const req = this.placementRequest(job, id, candidates)
      // prefer runners an earlier attempt was not lost on; fall back to them rather than wait
      const preferred = avoid.length > 0 ? place({ ...req, exclude: avoid }, candidates) : undefined
      const result = preferred?.ok === true ? preferred : place(req, candidates)
      const rejections: string[] = []
      if (result.ok) {
        const placed = all
          ? await this.pushAll(job, attempt, result.choices, candidates, rejections)
          : await this.pushFirst(job, id, attempt, result.choices, candidates, rejections)
        if (placed.length > 0) return placed
      }
      // formatExclusions says "no peer can take the task: …"; keep only the reasons
      const excluded = result.excluded.length > 0 ? formatExclusions(result.excluded).replace(/^no peer can take the task: /, '') : ''
      lastReasons = [excluded, ...rejections].filter(s => s !== '').join('; ')
      if (Date.now() >= deadline) break
      await this.waits.wait(req, Math.min(this.init.placeRetryMs(round++), Math.max(0, deadline - Date.now())), signal)
    }
    if (job.controller.signal.aborted) throw abortReason(job.controller.signal)
    if (this.controller.signal.aborted) throw new MeshError('the dispatcher is stopping; the task stays queued for its next start')
    const reason = `no peer can take the task: ${lastReasons || 'none matched'}`
    await this.c.publish({ ...this.dispatcherRecord(job, id, attempt, 'rejected', null), error: reason.slice(0, 2000), finishedAt: new Date().toISOString() })
    throw new MeshError(reason, 3)
  }

  private async pushFirst (job: Job, id: string, attempt: number, choices: Choice[], candidates: Candidate[], rejections: string[]): Promise<Placement[]> {
    for (const choice of choices) {
      if (job.inputChanged != null) break
      const outcome = await this.pushTo(job, id, attempt, choice, candidates, rejections)
      if (outcome.placement != null) return [outcome.placement]
      // the last runner may run it after all: never share an attempt number between two runs
      if (outcome.uncertain) attempt++
    }
    return []
  }

  /**
   * --all: one child task per matching peer, ids `<id>-1`, `<id>-2`, … grouped under `<id>`. Empty
   * when no peer took its child (the caller places the group again); otherwise every child, the
   * ones never placed marked rejected.
   */
  private async pushAll (job: Job, attempt: number, choices: Choice[], candidates: Candidate[], rejections: string[]): Promise<Placement[]> {
    const children = await Promise.all(choices.map(async (choice, i) => this.pushChild(job, `${job.id}-${i + 1}`, attempt, choice, candidates, rejections)))
    return children.some(c => c.rejected !== true) ? children : []
  }

  /**
   * One --all child is bound to its peer: a push that failed (a dial timing out on a loaded
   * machine, a runner at capacity) is retried on that peer until the task's deadline, never moved;
   * past it the child gets a 'rejected' record naming the peer, so the caller hears of every host.
   */
  private async pushChild (job: Job, id: string, attempt: number, choice: Choice, candidates: Candidate[], rejections: string[]): Promise<Placement> {
    const signal = AbortSignal.any([this.controller.signal, job.controller.signal])
    const runnerName = candidates.find(x => x.peerId === choice.peerId)?.name ?? choice.peerId
    for (let round = 0; ; round++) {
      const why: string[] = []
      const outcome = await this.pushTo(job, id, attempt, choice, candidates, why)
      if (outcome.placement != null) return outcome.placement
      // the peer may run the last offer after all: never share an attempt number between two runs
      if (outcome.uncertain) attempt++
      // a peer the failure detector declared dead is not coming back within this wait: say so now
      // instead of dialling it until the deadline (a slow dial to a live peer is still retried)
      const dead = choice.peerId !== this.c.peerId && this.c.health?.state(choice.peerId) === 'dead'
      if (dead) why.push(`${runnerName}: declared dead (it stopped answering)`)
      if (signal.aborted || Date.now() >= job.deadline || job.inputChanged != null || dead) {
        rejections.push(...why)
        if (!signal.aborted) {
          await this.c.publish({ ...this.dispatcherRecord(job, id, attempt, 'rejected', null), error: `not placed on ${runnerName}: ${why.map(w => withoutName(runnerName, w)).join('; ')}`.slice(0, 2000), finishedAt: new Date().toISOString() })
            .catch((err: unknown) => { this.c.log.warn({ component: 'dispatch', task: id, reason: errorMessage(err) }, 'cannot record a rejected child') })
        }
        return { id, runner: choice.peerId, runnerName, numaNode: null, attempt, rejected: true }
      }
      this.c.log.debug({ component: 'dispatch', task: id, peer: choice.peerId, reason: why.join('; ') }, 'child not placed yet; retrying on its peer')
      const req = { ...this.placementRequest(job, id, candidates), target: { peerId: choice.peerId, ...(choice.numaNode != null ? { numa: choice.numaNode } : {}) } }
      await this.waits.wait(req, Math.min(this.init.placeRetryMs(round), Math.max(0, job.deadline - Date.now())), signal)
    }
  }

  private async pushTo (job: Job, id: string, attempt: number, choice: Choice, candidates: Candidate[], rejections: string[]): Promise<{ placement?: Placement, uncertain: boolean }> {
    await this.offering(job, id, attempt)
    const offer = this.offer(job, id, attempt, choice)
    job.supply ??= createFileSupply({ files: job.files, self: this.c.peerId, onChanged: err => { job.inputChanged ??= err } })
    const reply = choice.peerId === this.c.peerId
      ? await pushLocal(this.c.local, this.c.auth, offer, job.supply, this.c.peerId)
      : await this.c.push.push(peerIdFromString(choice.peerId), offer, job.supply, { signal: AbortSignal.any([this.controller.signal, job.controller.signal]) })
    const runnerName = candidates.find(x => x.peerId === choice.peerId)?.name ?? choice.peerId
    if (reply.status === 'accepted') {
      this.c.log.info({ component: 'dispatch', task: id, attempt, peer: choice.peerId, numa: reply.numaNode, sentFiles: reply.sentFiles, fetchedFiles: reply.fetchedFiles ?? 0 }, 'task placed')
      return { placement: { id, runner: choice.peerId, runnerName, numaNode: reply.numaNode, attempt }, uncertain: false }
    }
    // a runner names itself in its reasons ('lab2: not enough disk …'): not 'lab2: lab2: …'
    rejections.push(`${runnerName}: ${withoutName(runnerName, reply.reason)}`)
    return { uncertain: reply.uncertain === true }
  }

  private offer (job: Job, id: string, attempt: number, choice: Choice): TaskOffer {
    const s = job.request.spec
    return {
      v: 1,
      id,
      group: job.id,
      attempt,
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
      files: job.files.map(f => ({ dest: f.dest, sha256: f.sha256, size: f.size, mode: f.mode, ...(f.readOnly === true ? { readOnly: true as const } : {}) }))
    }
  }

  /** A task placed on another runner ended there: its slot counts as free before the runner's next advert says so. */
  private freed (job: Job, s: TrackState, record: TaskRecord): void {
    if (s.runner == null || s.runner === this.c.peerId || record.runner !== s.runner || s.numaNode == null || record.finishedAt == null) return
    const { cores, memoryMB } = job.request.spec.resources
    this.released.note(s.runner, { numaNode: s.numaNode, cores, memoryMB, finishedAt: Date.parse(record.finishedAt) })
    this.peerChanged(s.runner)
  }

  private placementRequest (job: Job, id: string, candidates: Candidate[]): PlacementRequest {
    const { spec, target } = job.request
    return {
      taskId: id,
      tags: spec.tags,
      cores: spec.resources.cores,
      memoryMB: spec.resources.memoryMB,
      gpus: spec.resources.gpus,
      numa: spec.resources.numa,
      ...(target != null ? { target: { peerId: this.resolvePeer(target.peer, candidates), ...(target.numa != null ? { numa: target.numa } : {}) } } : {})
    }
  }

  /**
   * A peer's capacity may have grown (a newer advert; this node's own ledger released a task):
   * tasks waiting for a runner that now fit there try again at once instead of at their next round.
   */
  peerChanged (peerId: string): void {
    if (this.waits.size === 0) return
    if (peerId === this.c.peerId) {
      this.waits.changed(this.c.self())
      return
    }
    const view = this.c.table.get(peerId)
    if (view != null) this.waits.changed(this.candidateOf(view))
  }

  private candidates (): Candidate[] {
    return this.c.table.list().filter(p => p.advert.peerId !== this.c.peerId).map(p => this.candidateOf(p))
  }

  /** A peer as placement sees it: its latest advert, plus what it freed since (ReleasedCapacity). */
  private candidateOf (p: PeerView): Candidate {
    return this.released.apply({
      peerId: p.advert.peerId,
      name: p.advert.name,
      online: p.state === 'online',
      tags: p.advert.tags,
      numa: p.advert.numa,
      gpus: p.advert.gpus.length,
      freeGpus: p.advert.gpus.length,
      running: p.advert.running,
      numactl: p.advert.numactl
    }, p.advert.sentAt)
  }

  /** A target may be given by peer id or by name; a name must be unambiguous. */
  private resolvePeer (peer: string, candidates: Candidate[]): string {
    if (candidates.some(c => c.peerId === peer)) return peer
    const named = candidates.filter(c => c.name === peer || (c.peerId === this.c.peerId && peer === this.c.name()))
    if (named.length === 1) return named[0]!.peerId
    if (named.length > 1) throw new MeshError(`--target ${peer}: ${named.length} peers have that name; use a peer id`, 2)
    return peer
  }

  private dispatcherRecord (job: Job, id: string, attempt: number, state: TaskRecord['state'], error: string | null): TaskRecord {
    return {
      id,
      name: job.request.spec.name,
      state,
      exitCode: null,
      runner: null,
      runnerName: null,
      numaNode: null,
      attempt,
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
   * Follows a task this node dispatched: placement (again for each retry), live output (when
   * `follow`), final records. Ends after every placed task ended for good.
   */
  async * watch (id: string, follow: boolean, signal: AbortSignal): AsyncGenerator<DispatchEvent> {
    const job = this.jobs.get(id)
    if (job == null) throw new MeshError(`task ${id} was not dispatched by this node`, 1)
    try {
      await abortable(job.placed, signal)
    } catch (err) {
      if ((err as MeshError).exitCode === 3) {
        yield { type: 'unplaceable', id, reason: errorMessage(err) }
        return
      }
      throw err
    }
    yield * merge(...(job.tracks ?? []).map(t => this.followOne(t, follow, signal)))
  }

  private async * followOne (track: Track, follow: boolean, signal: AbortSignal): AsyncGenerator<DispatchEvent> {
    const s = track.state
    let shown = -1
    while (!signal.aborted && !s.done) {
      if (s.runner != null && s.attempt !== shown) {
        shown = s.attempt
        yield { type: 'placed', id: s.id, runner: s.runner, runnerName: s.runnerName ?? s.runner, numaNode: s.numaNode, attempt: s.attempt }
        if (follow) yield * this.output(track, signal)
      }
      if (!s.done && (s.runner == null || s.attempt === shown)) await track.nextChange(signal)
    }
    yield { type: 'result', record: await this.finalRecord(s.id, signal) }
  }

  /** Live output of the track's current attempt; stops when the attempt changes or the task ends. */
  private async * output (track: Track, signal: AbortSignal): AsyncGenerator<DispatchEvent> {
    const s = track.state
    const { runner, runnerName } = s
    if (runner == null) return
    const mine = s.attempt
    const attempt = new AbortController()
    const stop = AbortSignal.any([signal, attempt.signal])
    // a retry elsewhere ends this follow; the task ending does not (the runner ends the stream once it has sent everything)
    void (async () => {
      while (!stop.aborted && !s.done && s.attempt === mine) await track.nextChange(stop)
      if (s.attempt !== mine) attempt.abort()
    })()
    try {
      const source = runner === this.c.peerId
        ? this.c.localLogs(s.id, true, stop)
        : this.c.logs.fetch(peerIdFromString(runner), s.id, true, stop)
      for await (const chunk of source ?? []) {
        yield { type: 'output', id: s.id, runnerName: runnerName ?? runner, stream: chunk.stream, data: Buffer.from(chunk.data).toString('base64') }
      }
    } catch (err) {
      if (!stop.aborted) this.c.log.warn({ component: 'dispatch', task: s.id, reason: errorMessage(err) }, 'following output failed; waiting for the result')
    } finally {
      attempt.abort()
    }
  }

  /**
   * The tasks of --all group `id` if this node dispatched it, once placement is over: every child,
   * placed or rejected (none when the group was refused as a whole). Undefined when `id` is not a
   * group this node holds.
   */
  async groupTasks (id: string, signal: AbortSignal): Promise<string[] | undefined> {
    const job = this.jobs.get(id)
    if (job == null || !job.request.all) return undefined
    try {
      await abortable(job.placed, signal)
    } catch (err) {
      if (signal.aborted) throw err
      return []
    }
    return (job.tracks ?? []).map(t => t.state.id)
  }

  /**
   * The track of task `id`: a single task's id is its job's; a child of --all is searched for. Jobs
   * stay a minute after they end, so a scan of all of them per result made many short tasks
   * quadratic (3,000 jobs held at 50 tasks/s).
   */
  private trackOf (id: string): Track | undefined {
    const own = this.jobs.get(id)?.tracks?.find(t => t.state.id === id)
    if (own != null) return own
    for (const job of this.jobs.values()) {
      const child = job.request.all ? job.tracks?.find(t => t.state.id === id) : undefined
      if (child != null) return child
    }
    return undefined
  }

  /**
   * Resolves with the task's final record. For a task this node watches, only once it ended for
   * good (a lost attempt that will be retried is not the end); else from the store or gossip.
   */
  async finalRecord (id: string, signal: AbortSignal): Promise<TaskRecord> {
    const track = this.trackOf(id)
    if (track != null) {
      while (!track.state.done && !signal.aborted) await track.nextChange(signal)
      if (signal.aborted) throw abortReason(signal)
    }
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

/** `text` without a leading `name: ` (a reason about one runner, shown after its name already) */
function withoutName (name: string, text: string): string {
  return text.startsWith(`${name}: `) ? text.slice(name.length + 2) : text
}

function placementOf (s: TrackState): Placement {
  return { id: s.id, runner: s.runner ?? '', runnerName: s.runnerName ?? '', numaNode: s.numaNode, attempt: s.attempt }
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
