import { MeshError } from '../errors.js'
import { createTaskValidator, mergeCliTags, parseTaskFile } from './task/index.js'
import { byNumber } from './task-queries.js'
import type { ControlHandler } from './control/index.js'
import type { Daemon } from './daemon.js'
import type { DispatchEvent } from './dispatch/index.js'
import type { TaskState } from '../protocols/results/index.js'
import type { InviteGrant } from './trust/index.js'

/** What `mesh push` sends: the task file's text (re-parsed here: the socket is a boundary too). */
export interface PushParams {
  text: string
  /** names the file in messages */
  name: string
  /** folder relative `files[].src` resolve against */
  baseDir: string
  tags: string[]
  target?: { peer: string, numa?: number }
  all: boolean
  waitMs: number
  detach: boolean
  /** stream the task's output while waiting */
  follow: boolean
}

const STATES: ReadonlySet<string> = new Set(['queued', 'running', 'succeeded', 'failed', 'timed_out', 'cancelled', 'lost', 'rejected'])

function obj (params: unknown): Record<string, unknown> {
  if (typeof params !== 'object' || params === null) throw new MeshError('bad request: params must be an object', 2)
  return params as Record<string, unknown>
}

function taskId (params: unknown): string {
  const id = obj(params).id
  if (typeof id !== 'string' || !/^[0-9a-z-]{1,64}$/.test(id)) throw new MeshError(`invalid task id '${String(id)}'`, 2)
  return id
}

/** The daemon's control-socket methods; each validates its params and calls one daemon part. */
export function controlHandlers (d: Daemon): Record<string, ControlHandler> {
  // compiling the task schema costs ~20 ms: once per daemon, not once per push
  const validator = createTaskValidator()
  return {
    id: async () => d.info(),
    peers: async (params, ctx) => {
      const tag = obj(params ?? {}).tag
      if (tag != null && (typeof tag !== 'string' || tag.length === 0 || tag.length > 64)) throw new MeshError('peers: invalid tag', 2)
      return d.peers(tag ?? undefined, ctx.signal)
    },
    stop: async () => {
      d.requestStop()
      return { stopping: true, pid: process.pid }
    },
    push: async function * (params, ctx): AsyncGenerator<DispatchEvent> {
      const p = obj(params) as unknown as PushParams
      if (typeof p.text !== 'string' || typeof p.name !== 'string' || typeof p.baseDir !== 'string') throw new MeshError('bad push request', 2)
      const spec = mergeCliTags(parseTaskFile(p.text, p.name, { baseDir: p.baseDir, validator }), Array.isArray(p.tags) ? p.tags : [])
      const dispatcher = d.tasks().dispatcher
      const id = await dispatcher.submit({
        spec,
        all: p.all === true,
        waitMs: typeof p.waitMs === 'number' ? p.waitMs : 30_000,
        ...(p.target != null ? { target: p.target } : {})
      })
      yield { type: 'submitted', id }
      if (p.detach === true) return
      yield * dispatcher.watch(id, p.follow !== false, ctx.signal)
    },
    status: async (params) => {
      const id = taskId(params)
      const records = d.tasks().records
      const group = await records.group(id)
      const own = await records.get(id)
      if (own == null && group.length === 0) throw new MeshError(`no task ${id} is known to this node`, 1)
      // a --all group answers with every child; a single task with its record
      const children = group.filter(r => r.id !== id)
      const order = byNumber(id)
      const shown = children.length > 0 ? children.sort((a, b) => order(a.id, b.id)) : [own!]
      // every attempt known here, newest first (a stale attempt's late result included)
      return Promise.all(shown.map(async r => ({ ...r, attempts: await records.attempts(r.id) })))
    },
    tasks: async (params) => {
      const { state, limit } = obj(params ?? {})
      if (state != null && (typeof state !== 'string' || !STATES.has(state))) throw new MeshError(`unknown state '${JSON.stringify(state)}'`, 2)
      return d.tasks().records.list({ ...(state != null ? { state: state as TaskState } : {}), limit: typeof limit === 'number' ? limit : 100 })
    },
    logs: async function * (params, ctx) {
      const id = taskId(params)
      const follow = obj(params).follow === true
      yield * d.logs(id, follow, ctx.signal)
    },
    cancel: async (params) => d.cancel(taskId(params)),
    'invites.add': async (params) => {
      const { secretHash, grant, authorityDir } = obj(params)
      if (typeof secretHash !== 'string' || typeof authorityDir !== 'string' || typeof grant !== 'object' || grant === null) throw new MeshError('bad invite request', 2)
      await d.addInvite(secretHash, grant as InviteGrant, authorityDir)
      return { ok: true }
    },
    revocations: async (params) => {
      const list = obj(params).list
      if (typeof list !== 'string' || list.length > 2_000_000) throw new MeshError('bad revocations request', 2)
      return d.adoptRevocations(Buffer.from(list, 'base64'))
    },
    wait: async (params, ctx) => {
      return d.waitFinal(taskId(params), ctx.signal)
    }
  }
}
