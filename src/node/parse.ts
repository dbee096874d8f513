/**
 * Parsers for CLI flag values. Each throws a UsageError (exit 2) whose one line names the flag and
 * the bad value. The `*Problem` checks return a phrase instead of throwing, so config.json
 * validation reports the same rules with its own wording.
 */
import { multiaddr } from '@multiformats/multiaddr'
import { peerIdFromString } from '@libp2p/peer-id'
import { UsageError } from '../errors.js'

export { TAG_PATTERN, TAG_RULE, parseTags, tagProblem } from './tags.js'

/** Addresses to listen on: `/ip4|ip6/<addr>/tcp/<port>[/…]`, port 0 meaning "any free port". */
export function parseMultiaddrList (values: string[] | undefined, flag: string): string[] {
  return parseAddrs(values, flag, listenAddrProblem)
}

/** Peers to dial first: `/ip4|ip6|dns|dns4|dns6/<host>/tcp/<port>/p2p/<peer id>`. */
export function parseBootstrapList (values: string[] | undefined, flag = '--bootstrap'): string[] {
  return parseAddrs(values, flag, bootstrapAddrProblem)
}

function parseAddrs (values: string[] | undefined, flag: string, check: (addr: string) => string | undefined): string[] {
  const out = new Set<string>()
  for (const raw of values ?? []) {
    const addr = raw.trim()
    const problem = check(addr)
    if (problem != null) throw new UsageError(`${flag}: '${raw}' is not a valid multiaddr (${problem})`)
    out.add(addr)
  }
  return [...out]
}

const LISTEN_HOSTS = new Set(['ip4', 'ip6'])
const DIAL_HOSTS = new Set(['ip4', 'ip6', 'dns', 'dns4', 'dns6'])

export function listenAddrProblem (addr: string): string | undefined {
  const parsed = parseComponents(addr)
  if (typeof parsed === 'string') return parsed
  const [host, tcp] = parsed
  if (host == null || !LISTEN_HOSTS.has(host.name)) return 'a listen address starts with /ip4/ or /ip6/'
  if (tcp?.name !== 'tcp') return 'expected /tcp/<port> after the host'
  if (parsed.some(c => c.name === 'p2p')) return 'a listen address has no /p2p/ part'
  return undefined
}

export function bootstrapAddrProblem (addr: string): string | undefined {
  const parsed = parseComponents(addr)
  if (typeof parsed === 'string') return parsed
  const [host, tcp] = parsed
  const last = parsed.at(-1)
  if (host == null || !DIAL_HOSTS.has(host.name)) return 'a bootstrap address starts with /ip4/, /ip6/, /dns/, /dns4/ or /dns6/'
  if (tcp?.name !== 'tcp') return 'expected /tcp/<port> after the host'
  if (tcp.value === '0') return 'port 0 cannot be dialled'
  if (last?.name !== 'p2p' || last.value == null) return 'a bootstrap address ends with /p2p/<peer id>'
  try {
    peerIdFromString(last.value)
  } catch {
    return `'${last.value}' is not a peer id`
  }
  return undefined
}

type Components = ReturnType<ReturnType<typeof multiaddr>['getComponents']>

function parseComponents (addr: string): Components | string {
  if (addr === '') return 'empty'
  try {
    return multiaddr(addr).getComponents()
  } catch (err) {
    return err instanceof Error ? err.message : String(err)
  }
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }

/** `500ms`, `30s`, `15m`, `2h`, `90d`, `1.5h`, `1h30m` → milliseconds (rounded). */
export function parseDuration (value: string, flag: string): number {
  const text = value.trim()
  const bad = (why: string): UsageError => new UsageError(`${flag}: '${value}' is not a duration (${why})`)
  if (text === '') throw bad('empty')
  if (/^\d+(\.\d+)?$/.test(text)) throw bad('add a unit: ms, s, m, h or d')
  // a sticky regex carries state (lastIndex): build it per call, never share it at module level
  const part = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/y
  let total = 0
  let end = 0
  for (let m = part.exec(text); m != null; m = part.exec(text)) {
    const [, amount = '', unit = ''] = m
    total += Number(amount) * (UNIT_MS[unit] ?? Number.NaN)
    end = part.lastIndex
  }
  if (end !== text.length) throw bad('use a number and a unit, e.g. 500ms, 30s, 15m, 2h, 90d')
  const ms = Math.round(total)
  if (!Number.isSafeInteger(ms)) throw bad('too large')
  return ms
}

/** A node's display name: printable, no surrounding blanks, at most 128 characters. */
export function nameProblem (name: string): string | undefined {
  if (name === '') return 'must not be empty'
  if (name.length > 128) return 'must be at most 128 characters'
  if (name.trim() !== name) return 'must not start or end with white space'
  if (/[\u0000-\u001f\u007f]/.test(name)) return 'must not contain control characters'
  return undefined
}

export function parseName (value: string, flag = '--name'): string {
  const problem = nameProblem(value)
  if (problem != null) throw new UsageError(`${flag}: '${value}' ${problem}`)
  return value
}
