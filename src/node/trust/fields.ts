/**
 * Reading the JSON inside signed records field by field. A signature says who wrote a record, not
 * that the writer's software was sane, so every field is checked before it is trusted; the first
 * problem becomes the one-line reason ("certificate is malformed: tags[2] …").
 */
import { peerIdFromString } from '@libp2p/peer-id'
import { quoted, shown } from '../../protocols/peer-text.js'
import { nameProblem, tagProblem } from '../parse.js'
import { ROLES } from './constants.js'
import { isRole } from './roles.js'
import type { Role } from './types.js'

export class MalformedError extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'MalformedError'
  }
}

/** Longer than any peer id's string form (Ed25519: 52, CIDv1 base32: ~62); checked before decoding. */
const MAX_PEER_ID_CHARS = 128

/** The problem with a peer id string, or undefined when it is one. */
export function peerIdProblem (value: string): string | undefined {
  // base58 decoding is quadratic: a 70,000-character "peer id" took 24 s of CPU to refuse
  if (value.length > MAX_PEER_ID_CHARS) return `${shown(value)} is not a peer id (longer than ${MAX_PEER_ID_CHARS} characters)`
  try {
    peerIdFromString(value)
    return undefined
  } catch {
    return `${shown(value)} is not a peer id`
  }
}

/** A JSON object whose fields are read one by one; each getter throws MalformedError. */
export class Fields {
  private readonly obj: Record<string, unknown>

  constructor (value: unknown, expected: { kind: string, keys: readonly string[], optional?: readonly string[] }) {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new MalformedError('not a JSON object')
    this.obj = value as Record<string, unknown>
    const allowed = new Set([...expected.keys, ...(expected.optional ?? [])])
    for (const key of Object.keys(this.obj)) {
      if (!allowed.has(key)) throw new MalformedError(`unexpected field ${shown(key)}`)
    }
    for (const key of expected.keys) {
      if (!(key in this.obj)) throw new MalformedError(`field '${key}' is missing`)
    }
    if (this.obj.v !== 1) throw new MalformedError(`version ${json(this.obj.v)} is not supported (expected 1)`)
    if (this.obj.kind !== expected.kind) throw new MalformedError(`kind is ${json(this.obj.kind)}, expected '${expected.kind}'`)
  }

  has (name: string): boolean {
    return this.obj[name] !== undefined
  }

  raw (name: string): unknown {
    return this.obj[name]
  }

  string (name: string, max = 256, pattern?: RegExp): string {
    return checkString(this.obj[name], name, max, pattern)
  }

  optionalString (name: string, max = 256, pattern?: RegExp): string | undefined {
    return this.obj[name] === undefined ? undefined : this.string(name, max, pattern)
  }

  nullableString (name: string, max = 256): string | null {
    return this.obj[name] === null ? null : this.string(name, max)
  }

  integer (name: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
    const v = this.obj[name]
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) throw new MalformedError(`${name} must be an integer from ${min}`)
    return v
  }

  /** an ISO-8601 time; returned as written (ms since epoch via Date.parse) */
  time (name: string): string {
    const v = this.string(name, 40)
    if (Number.isNaN(Date.parse(v))) throw new MalformedError(`${name} ${shown(v)} is not an ISO time`)
    return v
  }

  peerId (name: string): string {
    const v = this.string(name, 128)
    const problem = peerIdProblem(v)
    if (problem != null) throw new MalformedError(`${name}: ${problem}`)
    return v
  }

  displayName (name: string): string {
    const v = this.string(name, 128)
    const problem = nameProblem(v)
    if (problem != null) throw new MalformedError(`${name} ${problem}`)
    return v
  }

  tags (name: string): string[] {
    return this.array(name, 64).map((t, i) => {
      const tag = checkString(t, `${name}[${i}]`, 63)
      const problem = tagProblem(tag)
      if (problem != null) throw new MalformedError(`${name}[${i}] ${shown(tag)}: ${problem}`)
      return tag
    })
  }

  roles (name: string): Role[] {
    return this.array(name, ROLES.length).map((r, i) => {
      const role = checkString(r, `${name}[${i}]`, 16)
      if (!isRole(role)) throw new MalformedError(`${name}[${i}] ${shown(role)} is not a role (${ROLES.join(', ')})`)
      return role
    })
  }

  array (name: string, maxItems: number): unknown[] {
    const v = this.obj[name]
    if (!Array.isArray(v)) throw new MalformedError(`${name} must be an array`)
    if (v.length > maxItems) throw new MalformedError(`${name} has ${v.length} items, more than ${maxItems}`)
    return v as unknown[]
  }
}

function checkString (v: unknown, name: string, max: number, pattern?: RegExp): string {
  if (typeof v !== 'string') throw new MalformedError(`${name} must be a string`)
  if (v.length > max) throw new MalformedError(`${name} is longer than ${max} characters`)
  if (pattern != null && !pattern.test(v)) throw new MalformedError(`${name} ${shown(v)} has the wrong form`)
  return v
}

/** A small JSON value as written (the version and kind messages always showed JSON), else its type. */
function json (value: unknown): string {
  return typeof value === 'string' ? quoted(value) : shown(value)
}
