/**
 * Task records on gossip: runners publish a signed record when a task starts and when it ends;
 * dispatchers publish the states they own (queued, rejected, lost, cancelled before a runner had
 * it). Every node validates and keeps them, so `mesh status ID` works anywhere.
 *
 *   runner ──seal(record)──▶ /mesh/results/1.0.0 ──▶ every node: signer = gossip sender,
 *                                                    signer may write this state, schema → store
 */
import { SignedTopic } from '../signed-topic.js'
import { MAX_RESULT_BYTES, RESULTS_DOMAIN, RESULTS_PAYLOAD_TYPE, RESULTS_TOPIC } from './constants.js'
import { createRecordValidator } from './record.js'
import type { TaskRecord, TaskState } from './record.js'
import type { SignedTopicComponents } from '../signed-topic.js'
import type { PeerId } from '@libp2p/interface'

export type { TaskRecord, TaskState } from './record.js'
export { FINAL_STATES, supersedes, consistent, tail, createRecordValidator } from './record.js'
export { RESULTS_TOPIC, TAIL_CHARS } from './constants.js'

/** States a dispatcher may sign: the ones it decides without a runner. */
const DISPATCHER_STATES: ReadonlySet<TaskState> = new Set(['queued', 'rejected', 'lost', 'cancelled'])

/** Pure: may `signer` publish `record`? Returns the reason when not. */
export function authorise (record: TaskRecord, signer: string): string | null {
  if (record.runner === signer) return null
  if (record.dispatcher === signer && DISPATCHER_STATES.has(record.state)) return null
  return `${signer} may not publish state ${record.state} of task ${record.id}`
}

export interface ResultsInit {
  onRecord: (record: TaskRecord) => void
  /** membership check of the signer; returns why it is refused, or null */
  authorise?: (signer: string) => string | null
}


export interface Results {
  start: () => void
  stop: () => void
  publish: (record: TaskRecord) => Promise<boolean>
}

export function results (init: ResultsInit): (components: SignedTopicComponents) => Results {
  return (components) => {
    const validate = createRecordValidator()
    return new SignedTopic<TaskRecord>(components, {
      topic: RESULTS_TOPIC,
      kind: { domain: RESULTS_DOMAIN, payloadType: RESULTS_PAYLOAD_TYPE, maxBytes: MAX_RESULT_BYTES },
      component: 'results',
      check: (payload: unknown, signer: PeerId) => {
        if (!validate(payload)) return validate.lastError()
        return authorise(payload, signer.toString()) ?? init.authorise?.(signer.toString()) ?? null
      },
      onPayload: record => { init.onRecord(record) }
    })
  }
}
