/**
 * Join tokens: `mesh1.<base64url(JSON)>`. A token carries what a new node needs to enter the mesh
 * (the authority certificate to trust, the swarm key, addresses of the issuer) and a 32-byte
 * secret that the issuer's InviteBook will exchange, once, for a certificate. The issuer keeps
 * only the SHA-256 of the secret.
 *
 * The token is a bearer secret until used: anyone holding it can join with its tags and roles.
 */
import { createHash, randomBytes } from 'node:crypto'
import { MeshError } from '../../errors.js'
import { oneLine, shown } from '../../protocols/peer-text.js'
import { bootstrapAddrProblem } from '../parse.js'
import { parseSwarmKey } from '../swarm-key.js'
import { parseAuthorityCert } from './authority.js'
import { INVITE_PREFIX, INVITE_SECRET_BYTES, MAX_INVITE_TOKEN_CHARS } from './constants.js'
import { Fields, MalformedError } from './fields.js'
import type { AuthorityCert, Role } from './types.js'

const INVITE_KEYS = ['v', 'kind', 'authority', 'swarmKey', 'addrs', 'secret', 'tags', 'roles', 'expiresAt', 'issuer'] as const
const SECRET = /^[A-Za-z0-9_-]{43}$/

export class InvalidInviteError extends MeshError {
  constructor (message: string) {
    super(message)
    this.name = 'InvalidInviteError'
  }
}

/** What redeeming an invite grants: the contents of the certificate the issuer will sign. */
export interface InviteGrant {
  tags: string[]
  roles: Role[]
  expiresAt: string
}

export interface Invite extends InviteGrant {
  v: 1
  kind: 'mesh-invite'
  authority: AuthorityCert
  /** base64 of the swarm.key file; null on an open mesh */
  swarmKey: string | null
  /** multiaddrs of the issuer, each ending in /p2p/<issuer> */
  addrs: string[]
  /** base64url of INVITE_SECRET_BYTES random bytes */
  secret: string
  /** the peer id of the node that serves the enrolment */
  issuer: string
}

export interface CreateInviteInit {
  authority: AuthorityCert
  issuer: string
  addrs: string[]
  /** the bytes of swarm.key, or null */
  swarmKey: Uint8Array | null
  tags: string[]
  roles: Role[]
  ttlMs: number
  now?: number
}

/** A new invite: the token to hand out, and what the issuer stores (the secret's hash, the grant). */
export function createInvite (init: CreateInviteInit): { token: string, invite: Invite, secretHash: string, grant: InviteGrant } {
  if (!Number.isSafeInteger(init.ttlMs) || init.ttlMs <= 0) throw new MeshError('cannot create invite: the validity must be longer than 0')
  if (init.addrs.length === 0) throw new MeshError('cannot create invite: the issuer has no address a new node could dial')
  for (const addr of init.addrs) {
    const problem = bootstrapAddrProblem(addr) ?? (addr.endsWith(`/p2p/${init.issuer}`) ? undefined : `it does not end with /p2p/${init.issuer}`)
    if (problem != null) throw new MeshError(`cannot create invite: address '${addr}' is not usable (${problem})`)
  }
  const secret = randomBytes(INVITE_SECRET_BYTES).toString('base64url')
  const grant: InviteGrant = {
    tags: [...new Set(init.tags)].sort(),
    roles: [...new Set(init.roles)].sort(),
    expiresAt: new Date((init.now ?? Date.now()) + init.ttlMs).toISOString()
  }
  const invite: Invite = {
    v: 1,
    kind: 'mesh-invite',
    authority: init.authority,
    swarmKey: init.swarmKey == null ? null : Buffer.from(init.swarmKey).toString('base64'),
    addrs: [...init.addrs],
    secret,
    ...grant,
    issuer: init.issuer
  }
  const token = INVITE_PREFIX + Buffer.from(JSON.stringify(invite)).toString('base64url')
  return { token, invite, secretHash: hashSecret(secret), grant }
}

/**
 * Reads a token. With `now`, an expired one is refused (the issuer refuses it too; this saves the
 * trip). Every problem is an InvalidInviteError with one line.
 */
export async function parseInvite (token: string, now?: number): Promise<Invite> {
  const text = token.trim()
  if (!text.startsWith(INVITE_PREFIX) || text.length > MAX_INVITE_TOKEN_CHARS) throw new InvalidInviteError(`not a mesh invite token (it starts with '${INVITE_PREFIX}')`)
  const body = text.slice(INVITE_PREFIX.length)
  let json: unknown
  try {
    if (!/^[A-Za-z0-9_-]+$/.test(body)) throw new Error('not base64url')
    json = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'))
  } catch {
    throw new InvalidInviteError('not a mesh invite token (damaged: copy the whole token)')
  }
  let invite: Invite
  try {
    invite = await readInvite(json)
  } catch (err) {
    if (err instanceof MalformedError) throw new InvalidInviteError(`not a valid mesh invite token: ${err.message}`)
    throw err
  }
  if (now != null && now >= Date.parse(invite.expiresAt)) throw new InvalidInviteError(`invite expired at ${invite.expiresAt}`)
  return invite
}

/** The key an InviteBook files an invite under: hex SHA-256 of the secret's bytes. */
export function hashSecret (secret: string): string {
  return createHash('sha256').update(Buffer.from(secret, 'base64url')).digest('hex')
}

async function readInvite (value: unknown): Promise<Invite> {
  const f = new Fields(value, { kind: 'mesh-invite', keys: INVITE_KEYS })
  const issuer = f.peerId('issuer')
  const addrs = f.array('addrs', 32).map((a, i) => {
    if (typeof a !== 'string') throw new MalformedError(`addrs[${i}] must be a string`)
    const problem = bootstrapAddrProblem(a) ?? (a.endsWith(`/p2p/${issuer}`) ? undefined : 'it is not an address of the issuer')
    if (problem != null) throw new MalformedError(`addrs[${i}] ${shown(a)}: ${oneLine(problem, 120)}`)
    return a
  })
  const swarmKey = f.nullableString('swarmKey', 512)
  if (swarmKey != null) {
    try {
      parseSwarmKey(Buffer.from(swarmKey, 'base64'), 'swarmKey')
    } catch (err) {
      throw new MalformedError((err as Error).message)
    }
  }
  let authority: AuthorityCert
  try {
    authority = await parseAuthorityCert(f.raw('authority'))
  } catch (err) {
    if (err instanceof MalformedError) throw new MalformedError(`authority: ${err.message}`)
    throw err
  }
  return {
    v: 1,
    kind: 'mesh-invite',
    authority,
    swarmKey,
    addrs,
    secret: f.string('secret', 43, SECRET),
    tags: f.tags('tags'),
    roles: f.roles('roles'),
    expiresAt: f.time('expiresAt'),
    issuer
  }
}
