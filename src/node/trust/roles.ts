import { UsageError } from '../../errors.js'
import { ROLES } from './constants.js'
import type { Role } from './types.js'

const ROLE_SET: ReadonlySet<string> = new Set(ROLES)

export function isRole (value: string): value is Role {
  return ROLE_SET.has(value)
}

/** `--roles run,dispatch` (repeatable, comma-separated) → sorted, unique roles; at least one. */
export function parseRoles (values: string[] | string | undefined, flag = '--roles'): Role[] {
  const list = values == null ? [] : typeof values === 'string' ? [values] : values
  const roles = new Set<Role>()
  for (const value of list) {
    for (const piece of value.split(',')) {
      const role = piece.trim()
      if (role === '') continue
      if (!isRole(role)) throw new UsageError(`${flag}: '${role}' is not a role (one of: ${ROLES.join(', ')})`)
      roles.add(role)
    }
  }
  if (roles.size === 0) throw new UsageError(`${flag}: give at least one role (${ROLES.join(', ')})`)
  return [...roles].sort()
}
