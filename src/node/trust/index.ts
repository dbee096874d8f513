/**
 * Trust: who may join the mesh, claim which tags, and dispatch. Five layers, outermost first:
 *
 *   swarm key (pnet) ─────▶ only holders of the key complete a transport handshake
 *        │
 *   node key (Ed25519) ───▶ peer id = public key; Noise proves it on every connection,
 *        │                  signed envelopes prove it on every gossiped record
 *        │
 *   authority certificates ─▶ ca.crt (one or several: rotation) signs node certs:
 *        │                    peer id → name, tags it may claim, roles, notBefore..notAfter
 *        │
 *   roles / tags enforcement ─▶ run: may be given tasks (only for its certified tags)
 *        │                      dispatch: a runner accepts its signed tasks (task-envelope.ts)
 *        │                      admin: may serve enrolments (invites)
 *        │
 *   revocation ─▶ signed, versioned lists per authority; newest wins; a revoked peer or serial
 *                 fails verifyCertificate everywhere the list has reached
 *
 * Everything here is pure or runs over an injected store; the daemon moves the bytes (presents
 * certificates, gossips revocation lists, serves invites) and asks these functions to decide.
 * See README.md for what each layer stops and what it does not.
 */
export type { Authority, AuthorityCert, KvStore, NodeCertificate, RevocationList, RevokedEntry, Role, Verdict } from './types.js'
export { ROLES, DEFAULT_CLOCK_SKEW_MS, AUTHORITY_KEY_FILE, AUTHORITY_CERT_FILE, REVOCATIONS_FILE } from './constants.js'
export { createAuthority, loadAuthority, loadAuthorityCert, parseAuthorityCert, formatAuthorityCert } from './authority.js'
export type { CreateAuthorityOptions } from './authority.js'
export { issueCertificate, openCertificate, verifyCertificate, hasRole, unallowedTags, certificateText, readCertificateFile, writeCertificateFile, NODE_CERT_KIND } from './certificate.js'
export type { IssueInit, VerifyCertificateOptions } from './certificate.js'
export { revoke, verifyRevocations, newer, isRevoked, REVOCATIONS_KIND } from './revocation.js'
export type { RevokeTarget } from './revocation.js'
export { loadRevocations, readRevocationsFile, revokeInDir, writeRevocationsFile } from './revocation-file.js'
export { signTask, verifyTask, TASK_KIND } from './task-envelope.js'
export type { SignTaskInit, TaskClaim, VerifiedTask, VerifyTaskOptions } from './task-envelope.js'
export { ReplayGuard } from './replay-guard.js'
export type { ReplayGuardInit } from './replay-guard.js'
export { createInvite, parseInvite, hashSecret, InvalidInviteError } from './invite.js'
export type { CreateInviteInit, Invite, InviteGrant } from './invite.js'
export { InviteBook } from './invite-book.js'
export { armor, dearmor } from './armor.js'
export { isRole, parseRoles } from './roles.js'
export { peerIdProblem } from './fields.js'
