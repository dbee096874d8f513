/**
 * Signed records: libp2p's standard signed envelope (RFC 0002, `@libp2p/peer-record`) around a
 * JSON payload. Heartbeats and results are sealed with the sender's node key, so any node can check
 * who wrote a record no matter which peer relayed it.
 *
 *   bytes = Envelope{ publicKey, payloadType, payload, signature(domain || payloadType || payload) }
 *
 * The domain keeps a signature made for one purpose from being replayed as another.
 */
import { errorMessage } from '../../errors.js'
import { peerIdFromPublicKey } from '@libp2p/peer-id'
import { RecordEnvelope } from '@libp2p/peer-record'
import type { PeerId, PrivateKey } from '@libp2p/interface'

export class InvalidEnvelopeError extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'InvalidEnvelopeError'
  }
}

export interface RecordKind {
  /** signature domain, e.g. 'mesh-heartbeat' */
  domain: string
  /** payload type tag, checked on open */
  payloadType: Uint8Array
  /** refuse envelopes larger than this before decoding anything */
  maxBytes: number
}

export interface OpenedRecord {
  signer: PeerId
  payload: unknown
}

export async function sealJson (kind: RecordKind, value: unknown, privateKey: PrivateKey): Promise<Uint8Array> {
  const payload = new TextEncoder().encode(JSON.stringify(value))
  const envelope = await RecordEnvelope.seal({
    domain: kind.domain,
    codec: kind.payloadType,
    marshal: () => payload,
    equals: () => false
  }, privateKey)
  const bytes = envelope.marshal()
  if (bytes.byteLength > kind.maxBytes) {
    throw new InvalidEnvelopeError(`${kind.domain} record is ${bytes.byteLength} bytes, over the ${kind.maxBytes} byte limit`)
  }
  return bytes
}

/** Verifies size, signature, domain and payload type; returns the signer and the parsed JSON. */
export async function openJson (kind: RecordKind, bytes: Uint8Array): Promise<OpenedRecord> {
  if (bytes.byteLength > kind.maxBytes) {
    throw new InvalidEnvelopeError(`${kind.domain} record is ${bytes.byteLength} bytes, over the ${kind.maxBytes} byte limit`)
  }
  let envelope: RecordEnvelope
  try {
    envelope = await RecordEnvelope.openAndCertify(bytes, kind.domain)
  } catch (err) {
    throw new InvalidEnvelopeError(`${kind.domain} record rejected: ${errorMessage(err)}`)
  }
  if (!equalBytes(envelope.payloadType, kind.payloadType)) {
    throw new InvalidEnvelopeError(`${kind.domain} record has the wrong payload type`)
  }
  let payload: unknown
  try {
    payload = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(envelope.payload))
  } catch {
    throw new InvalidEnvelopeError(`${kind.domain} record payload is not valid JSON`)
  }
  return { signer: peerIdFromPublicKey(envelope.publicKey), payload }
}

function equalBytes (a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && a.every((v, i) => v === b[i])
}
