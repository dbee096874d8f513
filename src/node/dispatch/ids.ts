import { randomBytes } from 'node:crypto'

/** Short, time-sortable task ids people can type: 8 chars of time (base36) + 6 random. */
export function newTaskId (now = Date.now()): string {
  return now.toString(36).padStart(9, '0').slice(-9) + randomBytes(4).toString('hex').slice(0, 6)
}
