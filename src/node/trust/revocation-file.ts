/**
 * The authority's copy of its revocation list: `DIR/revocations.crl`, armored like a certificate.
 * `mesh ca revoke` reads it, adds one entry and writes the next version; publishing that version
 * to the mesh is the daemon's job.
 */
import { join } from 'node:path'
import { InvalidFileError } from '../../errors.js'
import { errnoCode } from '../home.js'
import { readArmored, writeArmored } from './armor.js'
import { loadAuthority } from './authority.js'
import { MAX_REVOCATIONS_BYTES, REVOCATIONS_FILE, REVOCATIONS_LABEL } from './constants.js'
import { revoke, verifyRevocations } from './revocation.js'
import type { RevokeTarget } from './revocation.js'
import type { AuthorityCert, RevocationList } from './types.js'

export async function readRevocationsFile (path: string): Promise<Uint8Array> {
  return readArmored(path, REVOCATIONS_LABEL, MAX_REVOCATIONS_BYTES)
}

export async function writeRevocationsFile (path: string, bytes: Uint8Array): Promise<void> {
  await writeArmored(path, REVOCATIONS_LABEL, bytes)
}

/** Reads and verifies a list file; undefined when there is none yet. */
export async function loadRevocations (path: string, authorities: readonly AuthorityCert[]): Promise<{ list: RevocationList, bytes: Uint8Array } | undefined> {
  let bytes: Uint8Array
  try {
    bytes = await readRevocationsFile(path)
  } catch (err) {
    if (errnoCode((err as { cause?: unknown }).cause) === 'ENOENT') return undefined
    throw err
  }
  const verified = await verifyRevocations(bytes, authorities)
  if (!verified.ok) throw new InvalidFileError(path, verified.reason)
  return { list: verified.list, bytes }
}

/** Revokes `target` with the authority in `dir` and writes the new `DIR/revocations.crl`. */
export async function revokeInDir (dir: string, target: RevokeTarget, now = Date.now()): Promise<{ list: RevocationList, bytes: Uint8Array, path: string }> {
  const authority = await loadAuthority(dir)
  const path = join(dir, REVOCATIONS_FILE)
  const current = await loadRevocations(path, [authority.cert])
  const next = await revoke(authority, current?.list, target, now)
  await writeRevocationsFile(path, next.bytes)
  return { ...next, path }
}
