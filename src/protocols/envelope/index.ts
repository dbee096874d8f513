/**
 * Signed records: libp2p's standard signed envelope (RFC 0002, `@libp2p/peer-record`) around a
 * JSON payload. Heartbeats and results are sealed with the sender's node key, so any node can check
 * who wrote a record no matter which peer relayed it.
 *
 *   bytes = Envelope{ publicKey, payloadType, payload, signature(domain || payloadType || payload) }
 *
 * The domain keeps a signature made for one purpose from being replayed as another.
 */
import { createPublicKey, verify } from 'node:crypto'
import { errorMessage } from '../../errors.js'
import { peerIdFromPublicKey } from '@libp2p/peer-id'
import { RecordEnvelope } from '@libp2p/peer-record'
import type { KeyObject } from 'node:crypto'
import type { PeerId, PrivateKey, PublicKey } from '@libp2p/interface'

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
  let valid: boolean
  try {
    envelope = RecordEnvelope.createFromProtobuf(bytes)
    valid = await verifyEnvelope(envelope, kind.domain)
  } catch (err) {
    throw new InvalidEnvelopeError(`${kind.domain} record rejected: ${errorMessage(err)}`)
  }
  if (!valid) throw new InvalidEnvelopeError(`${kind.domain} record rejected: invalid signature`)
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

/**
 * The envelope signature check of @libp2p/peer-record, with one difference: an Ed25519 key's
 * node:crypto KeyObject is built once per signer, not from JWK on every verify (profiles of large
 * meshes showed the rebuild as about a tenth of a daemon's CPU: every node checks every heartbeat).
 */
async function verifyEnvelope (envelope: RecordEnvelope, domain: string): Promise<boolean> {
  const key = envelope.publicKey
  if (key.type !== 'Ed25519') return envelope.validate(domain)
  if (envelope.signature.byteLength !== 64) return false
  return verify(null, signaturePayload(domain, envelope.payloadType, envelope.payload), keyObject(key), envelope.signature)
}

const KEY_CACHE_SIZE = 4096
const keyObjects = new Map<string, KeyObject>()

function keyObject (key: PublicKey): KeyObject {
  const id = Buffer.from(key.raw).toString('base64url')
  let ko = keyObjects.get(id)
  if (ko == null) {
    // bounded: a flood of fresh keys costs a rebuild, never memory
    if (keyObjects.size >= KEY_CACHE_SIZE) keyObjects.clear()
    ko = createPublicKey({ format: 'jwk', key: { kty: 'OKP', crv: 'Ed25519', x: id } })
    keyObjects.set(id, ko)
  }
  return ko
}

/** RFC 0002: varint(len(domain)) domain varint(len(type)) type varint(len(payload)) payload. */
export function signaturePayload (domain: string, payloadType: Uint8Array, payload: Uint8Array): Uint8Array {
  const d = new TextEncoder().encode(domain)
  return Buffer.concat([varint(d.byteLength), d, varint(payloadType.byteLength), payloadType, varint(payload.byteLength), payload])
}

function varint (n: number): Uint8Array {
  const out: number[] = []
  while (n >= 0x80) {
    out.push((n & 0x7f) | 0x80)
    n = Math.floor(n / 128)
  }
  out.push(n)
  return Uint8Array.from(out)
}

function equalBytes (a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && a.every((v, i) => v === b[i])
}
