import type { PrivateKey } from '@libp2p/interface'
import type { RecordDb } from '../store/task-records.js'
import type { ROLES } from './constants.js'

/** What a certificate lets its node do: run tasks, dispatch tasks, administer the mesh. */
export type Role = typeof ROLES[number]

/** The outcome of a check that can refuse: the value, or one line saying why not. */
export type Verdict<T> = ({ ok: true } & T) | { ok: false, reason: string }

/** The slice of a level sublevel the replay guard and invite book need; a Map serves tests. */
export type KvStore = RecordDb

/**
 * `ca.crt`: an authority's public certificate, JSON, self-signed. `id` is the peer-id form of
 * `publicKey`, which is what node certificates name as their `issuer`.
 */
export interface AuthorityCert {
  v: 1
  kind: 'mesh-authority'
  id: string
  name: string
  /** base64 of the libp2p protobuf encoding of the Ed25519 public key */
  publicKey: string
  createdAt: string
  /** base64 Ed25519 signature of AUTHORITY_CERT_DOMAIN + '\n' + the JSON of the fields above */
  signature: string
}

/** An authority as `mesh ca` holds it: the private key lives only where the CA folder is. */
export interface Authority {
  key: PrivateKey
  cert: AuthorityCert
}

/** The payload of a node certificate (an envelope signed by the authority). */
export interface NodeCertificate {
  v: 1
  kind: 'mesh-node-cert'
  /** 32 hex digits, random; what `mesh ca revoke` can name instead of the peer id */
  serial: string
  peerId: string
  name: string
  /** the tags the node may claim */
  tags: string[]
  roles: Role[]
  /** the authority's id */
  issuer: string
  notBefore: string
  notAfter: string
}

export interface RevokedEntry {
  peerId?: string
  serial?: string
  /** when it was revoked */
  at: string
}

/** The payload of a revocation list (an envelope signed by the authority). */
export interface RevocationList {
  v: 1
  kind: 'mesh-revocations'
  issuer: string
  /** +1 on each change; nodes keep the highest version per issuer */
  version: number
  revoked: RevokedEntry[]
  issuedAt: string
}
