/**
 * Signed tasks: the dispatcher signs a small claim about each task it sends (id, SHA-256 of the
 * body, issued-at, expires-at) with its node key. The runner checks the claim — signature, signer,
 * the signer's role, expiry — before it reads the body, then checks the body against the hash.
 * Replays within the validity window are the ReplayGuard's job (replay-guard.ts).
 */
import { createHash } from 'node:crypto'
import type { PrivateKey } from '@libp2p/interface'
import { MeshError } from '../../errors.js'
import { sealJson } from '../../protocols/envelope/index.js'
import { DEFAULT_CLOCK_SKEW_MS, MAX_TASK_ENVELOPE_BYTES, TASK_DOMAIN, TASK_PAYLOAD_TYPE } from './constants.js'
import { openSigned } from './envelope.js'
import { Fields, MalformedError } from './fields.js'
import type { RecordKind } from '../../protocols/envelope/index.js'
import type { Verdict } from './types.js'

export const TASK_KIND: RecordKind = { domain: TASK_DOMAIN, payloadType: TASK_PAYLOAD_TYPE, maxBytes: MAX_TASK_ENVELOPE_BYTES }

const CLAIM_KEYS = ['v', 'kind', 'taskId', 'bodyHash', 'issuedAt', 'expiresAt'] as const
const TASK_ID = /^[\x21-\x7e]{1,128}$/
const SHA256_HEX = /^[0-9a-f]{64}$/

/** The signed payload. */
export interface TaskClaim {
  v: 1
  kind: 'mesh-task'
  taskId: string
  /** hex SHA-256 of the task body bytes as sent */
  bodyHash: string
  issuedAt: string
  expiresAt: string
}

export interface SignTaskInit {
  taskId: string
  body: Uint8Array
  /** ms since epoch */
  issuedAt: number
  /** ms since epoch; after it no runner accepts the task */
  expiresAt: number
}

export async function signTask (privateKey: PrivateKey, init: SignTaskInit): Promise<Uint8Array> {
  if (!TASK_ID.test(init.taskId)) throw new MeshError(`cannot sign task: '${init.taskId}' is not a task id (1-128 printable characters, no blanks)`)
  if (!(init.expiresAt > init.issuedAt)) throw new MeshError('cannot sign task: expiresAt must be after issuedAt')
  const claim: TaskClaim = {
    v: 1,
    kind: 'mesh-task',
    taskId: init.taskId,
    bodyHash: sha256Hex(init.body),
    issuedAt: new Date(init.issuedAt).toISOString(),
    expiresAt: new Date(init.expiresAt).toISOString()
  }
  return sealJson(TASK_KIND, claim, privateKey)
}

export interface VerifyTaskOptions {
  /** the task body the envelope came with */
  body: Uint8Array
  /** ms since epoch */
  now: number
  /** when given, the envelope must be signed by this peer (the dialling peer, say) */
  signer?: string
  /**
   * May this signer dispatch? Return the reason when not (e.g. its certificate lacks the
   * `dispatch` role). Called after the signature check and before the body is looked at.
   */
  authorise?: (signer: string) => string | undefined
  /** an issuedAt this far ahead of `now` is accepted; default DEFAULT_CLOCK_SKEW_MS */
  clockSkewMs?: number
}

export interface VerifiedTask {
  signer: string
  taskId: string
  issuedAt: number
  expiresAt: number
}

export async function verifyTask (bytes: Uint8Array, options: VerifyTaskOptions): Promise<Verdict<VerifiedTask>> {
  const opened = await openSigned(TASK_KIND, 'task envelope', bytes)
  if (!opened.ok) return opened
  let claim: TaskClaim
  try {
    claim = parseClaim(opened.payload)
  } catch (err) {
    if (err instanceof MalformedError) return { ok: false, reason: `task envelope is malformed: ${err.message}` }
    throw err
  }
  const { signer } = opened
  if (options.signer != null && signer !== options.signer) return { ok: false, reason: `task ${claim.taskId} was signed by ${signer}, not by ${options.signer}` }
  const refused = options.authorise?.(signer)
  if (refused != null) return { ok: false, reason: refused }
  const issuedAt = Date.parse(claim.issuedAt)
  const expiresAt = Date.parse(claim.expiresAt)
  if (options.now >= expiresAt) return { ok: false, reason: `task ${claim.taskId} expired at ${claim.expiresAt}` }
  if (issuedAt > options.now + (options.clockSkewMs ?? DEFAULT_CLOCK_SKEW_MS)) return { ok: false, reason: `task ${claim.taskId} was issued in the future (${claim.issuedAt}); check the clocks` }
  if (sha256Hex(options.body) !== claim.bodyHash) return { ok: false, reason: `task body does not match its signature (task ${claim.taskId})` }
  return { ok: true, signer, taskId: claim.taskId, issuedAt, expiresAt }
}

function parseClaim (value: unknown): TaskClaim {
  const f = new Fields(value, { kind: 'mesh-task', keys: CLAIM_KEYS })
  const claim: TaskClaim = {
    v: 1,
    kind: 'mesh-task',
    taskId: f.string('taskId', 128, TASK_ID),
    bodyHash: f.string('bodyHash', 64, SHA256_HEX),
    issuedAt: f.time('issuedAt'),
    expiresAt: f.time('expiresAt')
  }
  if (Date.parse(claim.expiresAt) <= Date.parse(claim.issuedAt)) throw new MalformedError('expiresAt is not after issuedAt')
  return claim
}

function sha256Hex (bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex')
}
