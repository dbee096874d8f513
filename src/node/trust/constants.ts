/** Signature domains and payload types: a signature made for one record kind never opens as another. */
export const NODE_CERT_DOMAIN = 'mesh-node-cert'
export const NODE_CERT_PAYLOAD_TYPE = new TextEncoder().encode('/mesh/node-cert/1')
export const REVOCATIONS_DOMAIN = 'mesh-revocations'
export const REVOCATIONS_PAYLOAD_TYPE = new TextEncoder().encode('/mesh/revocations/1')
export const TASK_DOMAIN = 'mesh-task'
export const TASK_PAYLOAD_TYPE = new TextEncoder().encode('/mesh/task-claim/1')
/** prefix of the bytes an authority signs to certify its own ca.crt */
export const AUTHORITY_CERT_DOMAIN = 'mesh-authority'

/** a node certificate is a few hundred bytes; 64 tags of 63 characters fit well under this */
export const MAX_NODE_CERT_BYTES = 16 * 1024
/** about ten thousand revoked entries */
export const MAX_REVOCATIONS_BYTES = 1024 * 1024
export const MAX_TASK_ENVELOPE_BYTES = 4 * 1024
export const MAX_AUTHORITY_CERT_BYTES = 16 * 1024
export const MAX_INVITE_TOKEN_CHARS = 16 * 1024

/** clocks disagree: a certificate or task stamped this far in our future is still accepted */
export const DEFAULT_CLOCK_SKEW_MS = 60_000

/** file names inside an authority folder (`mesh ca … --ca DIR`) */
export const AUTHORITY_KEY_FILE = 'ca.key'
export const AUTHORITY_CERT_FILE = 'ca.crt'
export const REVOCATIONS_FILE = 'revocations.crl'

/** PEM-style labels of the text files certificates and revocation lists are kept in */
export const NODE_CERT_LABEL = 'MESH NODE CERTIFICATE'
export const REVOCATIONS_LABEL = 'MESH REVOCATION LIST'

export const INVITE_PREFIX = 'mesh1.'
export const INVITE_SECRET_BYTES = 32

export const ROLES = ['run', 'dispatch', 'admin'] as const
