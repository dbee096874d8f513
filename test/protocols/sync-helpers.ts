import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { sealJson } from '../../src/protocols/envelope/index.js'
import { RESULT_KIND } from '../../src/protocols/results/verify.js'
import type { TaskRecord } from '../../src/protocols/results/index.js'
import type { PrivateKey } from '@libp2p/interface'

export interface Signer { key: PrivateKey, id: string }

export async function signer (): Promise<Signer> {
  const key = await generateKeyPair('Ed25519')
  return { key, id: peerIdFromPrivateKey(key).toString() }
}

export function rec (over: Partial<TaskRecord>): TaskRecord {
  const id = over.id ?? 't'
  return {
    id, name: 't', state: 'succeeded', exitCode: 0, runner: null, runnerName: 'r', numaNode: 0, attempt: 1,
    dispatcher: 'D', group: id, tags: [], submittedAt: '2025-01-01T00:00:00.000Z', startedAt: '2025-01-01T00:00:00.000Z',
    finishedAt: '2025-01-01T00:00:01.000Z', stdout: 'ok\n', stderr: '', error: null, updatedAt: 1000, ...over
  }
}

/** A record as its runner signs it. */
export async function sealed (by: Signer, over: Partial<TaskRecord>): Promise<{ record: TaskRecord, envelope: Uint8Array }> {
  const record = rec({ runner: by.id, ...over })
  return { record, envelope: await sealJson(RESULT_KIND, record, by.key) }
}
