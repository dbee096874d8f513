import { setTimeout as sleep } from 'node:timers/promises'
import { peerIdFromString } from '@libp2p/peer-id'
import merge from 'it-merge'
import { MeshError, errorMessage } from '../errors.js'
import { FINAL_STATES } from '../protocols/results/index.js'
import type { TaskParts } from './daemon.js'
import type { LogChunk } from './runner/log-reader.js'
import type { CancelReply } from '../protocols/cancel/index.js'
import type { TaskRecord } from '../protocols/results/index.js'

/** how long another node waits for more tasks of a --all group after the last one it learnt of */
const GROUP_SETTLE_MS = 2_000
/** how long `mesh status --wait` and `mesh logs -f` wait for the first record of a task this node has not heard of */
const UNKNOWN_TASK_GRACE_MS = 5_000

/** A piece of a task's output as `mesh logs` gets it; a --all group's names the child and its runner. */
export interface LogsChunk {
  stream: 'stdout' | 'stderr'
  /** base64 */
  data: string
  task?: string
  runnerName?: string
}

/**
 * What any node answers about any task, wherever it was dispatched or ran: its output (`mesh
 * logs`), its end (`mesh status --wait`), its cancellation (`mesh cancel`). A --all group's id
 * stands for all of its tasks. No state of its own: the daemon's task parts hold it all.
 */
export interface TaskQueries {
  logs: (id: string, follow: boolean, signal: AbortSignal) => AsyncGenerator<LogsChunk>
  waitFinal: (id: string, signal: AbortSignal) => Promise<TaskRecord | TaskRecord[]>
  cancel: (id: string) => Promise<CancelReply>
}

export interface TaskQueriesComponents {
  parts: () => Pick<TaskParts, 'records' | 'runner' | 'dispatcher' | 'logs' | 'cancel'>
  /** this node's peer id, once started */
  self: () => string | undefined
}

export function createTaskQueries (components: TaskQueriesComponents): TaskQueries {
  return new Queries(components)
}

class Queries implements TaskQueries {
  private readonly c: TaskQueriesComponents

  constructor (components: TaskQueriesComponents) {
    this.c = components
  }

  /**
   * Output of any task: from this node when it ran here, else streamed from its runner. A --all
   * group's is each child's, every chunk naming its task and runner (the CLI prefixes lines as
   * `mesh push --all` does): one child after the other, or all at once when following. Following
   * a task that has not started yet (`id=$(mesh push --detach …); mesh logs -f $id`) waits for it.
   */
  async * logs (id: string, follow: boolean, signal: AbortSignal): AsyncGenerator<LogsChunk> {
    let children = (await this.groupChildren(id)).map(r => r.id)
    if (children.length === 0 && follow) {
      if (!await this.known(id, signal)) throw new MeshError(`no task ${id} is known to this node`)
      children = await this.members(id, signal) ?? []
    }
    if (children.length === 0) {
      yield * this.taskLogs(id, follow, signal)
      return
    }
    const each = children.map(c => (async function * (q: Queries) {
      const record = follow ? await q.startedRecord(c, signal) : await q.c.parts().records.get(c)
      if (record?.runner == null) return
      const runnerName = record.runnerName ?? record.runner
      for await (const chunk of q.taskLogs(c, follow, signal)) yield { ...chunk, task: c, runnerName }
    })(this))
    if (follow) {
      yield * merge(...each)
      return
    }
    for (const one of each) yield * one
  }

  /**
   * `mesh status --wait`: the task's final record, or every final record of a --all group. The
   * dispatcher of a group knows its tasks once placed; another node knows those it has records of,
   * and takes the group as complete once GROUP_SETTLE_MS passed without a new one (a group's tasks
   * are placed together, and each runner's first record follows within a second or so).
   */
  async waitFinal (id: string, signal: AbortSignal): Promise<TaskRecord | TaskRecord[]> {
    const { dispatcher } = this.c.parts()
    if (!await this.known(id, signal)) throw new MeshError(`no task ${id} is known to this node`, 1)
    const members = await this.members(id, signal)
    return members != null ? Promise.all(members.map(async c => dispatcher.finalRecord(c, signal))) : dispatcher.finalRecord(id, signal)
  }

  /**
   * The tasks `id` stands for when it is a --all group, in order; undefined for a single task
   * (told apart once a child record comes, or the task itself started or ended).
   */
  private async members (id: string, signal: AbortSignal): Promise<string[] | undefined> {
    const held = await this.c.parts().dispatcher.groupTasks(id, signal)
    if (held != null) return held.length > 0 ? held : undefined
    return await this.started(id, signal) === 'group' ? this.remoteGroup(id, signal) : undefined
  }

  /**
   * Whether this node has a record of task or group `id`, waiting up to UNKNOWN_TASK_GRACE_MS for
   * one: a task pushed with --detach elsewhere reaches this node with its runner's first record.
   */
  private async known (id: string, signal: AbortSignal): Promise<boolean> {
    const { records } = this.c.parts()
    const grace = AbortSignal.timeout(UNKNOWN_TASK_GRACE_MS)
    try {
      return await this.until(async () => (await records.get(id)) != null || (await records.group(id)).length > 0 ? true : undefined,
        r => r.id === id || r.group === id, AbortSignal.any([signal, grace]))
    } catch (err) {
      if (grace.aborted && !signal.aborted) return false
      throw err
    }
  }

  /**
   * Another node's --all group `id`, of which this node knows a task already: every task it learns
   * of until GROUP_SETTLE_MS pass without a new one.
   */
  private async remoteGroup (id: string, signal: AbortSignal): Promise<string[]> {
    const seen = new Set((await this.groupChildren(id)).map(r => r.id))
    let last = Date.now()
    const unsubscribe = this.c.parts().records.subscribe(r => {
      if (r.group !== id || r.id === id || seen.has(r.id)) return
      seen.add(r.id)
      last = Date.now()
    })
    try {
      for (let quiet = 0; quiet < GROUP_SETTLE_MS; quiet = Date.now() - last) await sleep(GROUP_SETTLE_MS - quiet, undefined, { signal })
      return [...seen].sort(byNumber(id))
    } finally {
      unsubscribe()
    }
  }

  /**
   * Task `id`'s record once it has a runner or has ended (ended unplaced: no runner), waiting for
   * it; a task this node has not heard of yet is waited for too (its first record names its runner).
   */
  async startedRecord (id: string, signal: AbortSignal): Promise<TaskRecord | undefined> {
    const { records } = this.c.parts()
    return this.until(async () => {
      const r = await records.get(id)
      return r != null && (r.runner != null || FINAL_STATES.has(r.state)) ? r : undefined
    }, r => r.id === id, signal)
  }

  /** Whether `id` turned out to be a --all group (a child record came) or a single task (it started or ended). */
  private async started (id: string, signal: AbortSignal): Promise<'group' | 'task'> {
    const { records } = this.c.parts()
    return this.until(async () => {
      if ((await this.groupChildren(id)).length > 0) return 'group' as const
      const r = await records.get(id)
      return r != null && (r.runner != null || FINAL_STATES.has(r.state)) ? 'task' as const : undefined
    }, r => r.group === id, signal)
  }

  /** The first value `check` gives, asked again after every record `relevant` says may change it. */
  private async until<T> (check: () => Promise<T | undefined>, relevant: (r: TaskRecord) => boolean, signal: AbortSignal): Promise<T> {
    let tick = new AbortController()
    // subscribed before the first check: a record stored in between is not missed
    const unsubscribe = this.c.parts().records.subscribe(r => { if (relevant(r)) tick.abort() })
    try {
      for (;;) {
        const value = await check()
        if (value !== undefined) return value
        if (signal.aborted) throw signal.reason instanceof Error ? signal.reason : new Error('aborted')
        if (!tick.signal.aborted) await sleep(3_600_000, undefined, { signal: AbortSignal.any([signal, tick.signal]) }).catch(() => {})
        tick = new AbortController()
      }
    } finally {
      unsubscribe()
    }
  }

  /** The children of --all group `id`, in the order of their numbers; none when `id` is a single task. */
  private async groupChildren (id: string): Promise<TaskRecord[]> {
    const order = byNumber(id)
    return (await this.c.parts().records.group(id)).filter(r => r.id !== id).sort((a, b) => order(a.id, b.id))
  }

  async * taskLogs (id: string, follow: boolean, signal: AbortSignal): AsyncGenerator<LogsChunk> {
    const { records, runner, logs } = this.c.parts()
    const record = follow ? await this.startedRecord(id, signal) : await records.get(id)
    if (follow && record?.runner == null && record != null) throw new MeshError(`task ${id} ended without running: ${record.state}${record.error != null ? `: ${record.error}` : ''}`)
    const local = runner.isRunningHere(id) || record?.runner === this.c.self()
    let source: AsyncIterable<LogChunk> | undefined
    if (local) {
      source = runner.logs(id, follow, signal)
    } else {
      if (record == null) throw new MeshError(`no task ${id} is known to this node`)
      if (record.runner == null) throw new MeshError(`task ${id} has not started on any runner yet (state ${record.state})`)
      source = logs.fetch(peerIdFromString(record.runner), id, follow, signal)
    }
    try {
      for await (const chunk of source ?? []) yield { stream: chunk.stream, data: Buffer.from(chunk.data).toString('base64') }
    } catch (err) {
      if (signal.aborted) return
      throw new MeshError(`cannot read the logs of task ${id} from ${record?.runnerName ?? 'its runner'}: ${errorMessage(err)}`)
    }
  }

  /** Cancels a task wherever it is: queued at its dispatcher or running on its runner. */
  async cancel (id: string): Promise<CancelReply> {
    const children = await this.groupChildren(id)
    if (children.length === 0) return this.cancelOne(id)
    // a --all group: the children still waiting for their peer stop at the dispatcher, and every
    // child still running is cancelled where it runs
    const stopped = await this.c.parts().dispatcher.cancelQueued(id)
    const replies = await Promise.all(children.filter(c => !FINAL_STATES.has(c.state)).map(async c =>
      this.cancelOne(c.id).catch((err: unknown): CancelReply => ({ status: 'unknown', message: errorMessage(err) }))))
    if (stopped) replies.unshift({ status: 'cancelled', message: `the tasks of group ${id} not placed yet were cancelled` })
    if (replies.length === 0) return { status: 'finished', message: `every task of group ${id} already ended` }
    const status = replies.some(r => r.status === 'cancelled') ? 'cancelled' : replies.every(r => r.status === 'finished') ? 'finished' : 'unknown'
    return { status, message: replies.map(r => r.message).join('\n') }
  }

  private async cancelOne (id: string): Promise<CancelReply> {
    const { records, runner, dispatcher, cancel } = this.c.parts()
    if (await dispatcher.cancelQueued(id)) return { status: 'cancelled', message: `task ${id} cancelled while queued` }
    if (runner.isRunningHere(id)) return runner.cancel(id)
    const record = await records.get(id)
    if (record == null) throw new MeshError(`no task ${id} is known to this node`)
    if (FINAL_STATES.has(record.state)) return { status: 'finished', message: `task ${id} already ended: ${record.state}` }
    const self = this.c.self()
    const holders = record.runner != null ? [record.runner] : dispatcher.runnersOf(id).length > 0 ? dispatcher.runnersOf(id) : [record.dispatcher]
    if (holders.length === 1 && holders[0] === self) return { status: 'unknown', message: `task ${id} is not held here any more` }
    if (holders.includes(self ?? '')) return runner.cancel(id)
    const holder = holders[0] ?? record.dispatcher
    try {
      return await cancel.request(peerIdFromString(holder), id)
    } catch (err) {
      throw new MeshError(`cannot reach ${record.runnerName ?? holder} to cancel task ${id}: ${errorMessage(err)}`)
    }
  }
}

/** orders the task ids of group `group` (`<group>-1`, `<group>-2`, … `<group>-10`) by their number */
export function byNumber (group: string): (a: string, b: string) => number {
  return (a, b) => Number(a.slice(group.length + 1)) - Number(b.slice(group.length + 1))
}
