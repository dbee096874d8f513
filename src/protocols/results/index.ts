/**
 * Task records on gossip: runners publish a signed record when a task starts and when it ends;
 * dispatchers publish the states they own (queued, rejected, lost, cancelled before a runner had
 * it). Every node validates and keeps them, with their envelope, so `mesh status ID` works anywhere
 * and a node can hand a record on later (sync) in a form its receiver can verify.
 *
 *   runner ──seal(record)──▶ /mesh/results/1.0.0 ──▶ every node: envelope signer,
 *                                                    signer may write this state, schema → store
 */
import { SignedTopic } from '../signed-topic.js'
import { RESULTS_TOPIC } from './constants.js'
import { RESULT_KIND, recordChecker } from './verify.js'
import type { TaskRecord } from './record.js'
import type { SignedTopicComponents } from '../signed-topic.js'
import type { PeerId } from '@libp2p/interface'

export type { TaskRecord, TaskState } from './record.js'
export type { RecordChecker, RecordVerdict } from './verify.js'
export type { RecordValidator } from './record.js'
export { FINAL_STATES, supersedes, consistent, tail, createRecordValidator } from './record.js'
export { authorise, recordChecker } from './verify.js'
export { RESULTS_TOPIC, TAIL_CHARS, MAX_RESULT_BYTES } from './constants.js'

export interface ResultsInit {
  /** a verified record from another node and the envelope it came in */
  onRecord: (record: TaskRecord, envelope: Uint8Array) => void
  /** membership check of the signer; returns why it is refused, or null */
  authorise?: (signer: string) => string | null
}

export interface Results {
  start: () => void
  stop: () => void
  publish: (record: TaskRecord) => Promise<boolean>
  /** the signed envelope of a record of this node, to store and then `publishSealed` */
  seal: (record: TaskRecord) => Promise<Uint8Array>
  publishSealed: (envelope: Uint8Array) => Promise<boolean>
}

export function results (init: ResultsInit): (components: SignedTopicComponents) => Results {
  return (components) => {
    const checker = recordChecker(init.authorise)
    return new SignedTopic<TaskRecord>(components, {
      topic: RESULTS_TOPIC,
      kind: RESULT_KIND,
      component: 'results',
      check: (payload: unknown, signer: PeerId) => {
        const verdict = checker.check(payload, signer.toString())
        return verdict.ok ? null : verdict.reason
      },
      onPayload: (record, _signer, envelope) => { init.onRecord(record, envelope) }
    })
  }
}
