import { openJson } from '../envelope/index.js'
import { quoted } from '../peer-text.js'
import { MAX_RESULT_BYTES, RESULTS_DOMAIN, RESULTS_PAYLOAD_TYPE } from './constants.js'
import { createRecordValidator } from './record.js'
import type { TaskRecord, TaskState } from './record.js'
import type { RecordKind } from '../envelope/index.js'

export const RESULT_KIND: RecordKind = { domain: RESULTS_DOMAIN, payloadType: RESULTS_PAYLOAD_TYPE, maxBytes: MAX_RESULT_BYTES }

/** States a dispatcher may sign: the ones it decides without a runner. */
const DISPATCHER_STATES: ReadonlySet<TaskState> = new Set(['queued', 'rejected', 'lost', 'cancelled'])

/** Pure: may `signer` publish `record`? Returns the reason when not. */
export function authorise (record: TaskRecord, signer: string): string | null {
  if (record.runner === signer) return null
  if (record.dispatcher === signer && DISPATCHER_STATES.has(record.state)) return null
  return `${signer} may not publish state ${record.state} of task ${quoted(record.id)}`
}

/**
 * The outcome of checking a signed record. `peerFault` says whether whoever handed it over is to
 * blame: a forged, malformed or wrongly signed record never passes an honest node's checks, while a
 * signer this node does not count as a member (revoked here, not yet there) may still be honest.
 */
export type RecordVerdict =
  | { ok: true, record: TaskRecord, signer: string }
  | { ok: false, reason: string, peerFault: boolean }

export interface RecordChecker {
  /** schema, signer allowed for this state, signer a member */
  check: (payload: unknown, signer: string) => RecordVerdict
  /** envelope signature, domain and size first, then `check` */
  open: (envelope: Uint8Array) => Promise<RecordVerdict>
}

/**
 * The one set of checks a result record passes before a node keeps it, whether it came by gossip
 * (from its signer) or by sync (relayed by anyone): the envelope proves the signer, so the relay
 * needs no trust.
 */
export function recordChecker (member?: (signer: string) => string | null): RecordChecker {
  const validate = createRecordValidator()
  const check = (payload: unknown, signer: string): RecordVerdict => {
    if (!validate(payload)) return { ok: false, reason: validate.lastError(), peerFault: true }
    const refused = authorise(payload, signer)
    if (refused != null) return { ok: false, reason: refused, peerFault: true }
    const outsider = member?.(signer) ?? null
    if (outsider != null) return { ok: false, reason: outsider, peerFault: false }
    return { ok: true, record: payload, signer }
  }
  return {
    check,
    open: async (envelope) => {
      let opened
      try {
        opened = await openJson(RESULT_KIND, envelope)
      } catch (err) {
        return { ok: false, reason: err instanceof Error ? err.message : String(err), peerFault: true }
      }
      return check(opened.payload, opened.signer.toString())
    }
  }
}
