/**
 * Tag parsing on its own: light commands (peers, push) need it without parse.ts's multiaddr and
 * peer-id imports, which cost a noticeable part of CLI start-up.
 */
import { UsageError } from '../errors.js'

/** A tag: what a runner offers and a task asks for (`xai`, `junos`, `gpu`, `site:par1`). */
export const TAG_PATTERN = /^[a-z0-9][a-z0-9_.:-]{0,62}$/i
export const TAG_RULE = "1-63 letters, digits, '_', '.', ':' or '-', starting with a letter or digit"

/** Repeatable and comma-separable: `--tags a,b --tags c`. Empty pieces (`a,,b`) are skipped. */
export function parseTags (values: string[] | string | undefined): string[] {
  if (values == null) return []
  const list = typeof values === 'string' ? [values] : values
  const tags = new Set<string>()
  for (const value of list) {
    for (const piece of value.split(',')) {
      const tag = piece.trim()
      if (tag === '') continue
      const problem = tagProblem(tag)
      if (problem != null) throw new UsageError(`invalid tag '${tag}': ${problem}`)
      tags.add(tag)
    }
  }
  return [...tags].sort()
}

export function tagProblem (tag: string): string | undefined {
  return TAG_PATTERN.test(tag) ? undefined : `tags are ${TAG_RULE}`
}
