/**
 * Opening the signed envelopes of the trust layer. Like `openJson` of protocols/envelope, but a
 * refusal is a reason (a value), and it says which step failed: not this kind of record at all,
 * or a record whose signature does not hold. Only the canonical protobuf encoding is accepted.
 */
import { peerIdFromPublicKey } from '@libp2p/peer-id'
import { RecordEnvelope } from '@libp2p/peer-record'
import type { RecordKind } from '../../protocols/envelope/index.js'
import type { Verdict } from './types.js'

export async function openSigned (kind: RecordKind, what: string, bytes: Uint8Array): Promise<Verdict<{ signer: string, payload: unknown }>> {
  if (bytes.byteLength > kind.maxBytes) return { ok: false, reason: `${what} is ${bytes.byteLength} bytes, over the ${kind.maxBytes} byte limit` }
  let envelope: RecordEnvelope
  try {
    envelope = RecordEnvelope.createFromProtobuf(bytes)
  } catch {
    return { ok: false, reason: `not a ${what} (cannot decode the envelope)` }
  }
  // the signature covers the payload, not the framing: insist on the one encoding, so a record
  // has exactly one byte form (any changed byte is refused, and hashes of records are stable)
  if (!equalBytes(envelope.marshal(), bytes)) return { ok: false, reason: `not a ${what} (non-canonical encoding)` }
  if (!equalBytes(envelope.payloadType, kind.payloadType)) return { ok: false, reason: `not a ${what} (wrong payload type)` }
  let signer: string
  try {
    signer = peerIdFromPublicKey(envelope.publicKey).toString()
  } catch {
    return { ok: false, reason: `not a ${what} (bad signer key)` }
  }
  let valid = false
  try {
    valid = await envelope.validate(kind.domain)
  } catch {}
  if (!valid) return { ok: false, reason: `${what} has a bad signature` }
  let payload: unknown
  try {
    payload = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(envelope.payload))
  } catch {
    return { ok: false, reason: `${what} is malformed: payload is not JSON` }
  }
  return { ok: true, signer, payload }
}

export function equalBytes (a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && a.every((v, i) => v === b[i])
}
