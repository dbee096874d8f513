import { table } from './table.js'
import { shortId } from './units.js'
import type { TaskRecord } from '../../protocols/results/index.js'

export function duration (r: TaskRecord): string {
  if (r.startedAt == null) return '-'
  const end = r.finishedAt != null ? Date.parse(r.finishedAt) : Date.now()
  const ms = end - Date.parse(r.startedAt)
  return ms < 1000 ? `${ms}ms` : ms < 60_000 ? `${(ms / 1000).toFixed(1)}s` : `${Math.floor(ms / 60_000)}m${Math.round((ms % 60_000) / 1000)}s`
}

function stateText (r: TaskRecord): string {
  return r.exitCode != null ? `${r.state} (exit ${r.exitCode})` : r.state
}

export function formatRecord (r: TaskRecord): string {
  const lines: Array<[string, string]> = [
    ['id', r.id],
    ['name', r.name],
    ['state', stateText(r)],
    ['runner', r.runner == null ? '-' : `${r.runnerName ?? '?'} (${r.runner})`],
    ['numa node', r.numaNode == null ? '-' : String(r.numaNode)],
    ['attempt', String(r.attempt)],
    ['tags', r.tags.join(',') || '-'],
    ['submitted', r.submittedAt],
    ['started', r.startedAt ?? '-'],
    ['finished', r.finishedAt ?? '-'],
    ['duration', duration(r)],
    ['dispatcher', r.dispatcher]
  ]
  if (r.error != null) lines.push(['error', r.error])
  // earlier attempts (a lost runner, a retry elsewhere): shown so nobody wonders why it ran twice
  for (const a of (r as TaskRecord & { attempts?: TaskRecord[] }).attempts ?? []) {
    if (a.attempt === r.attempt) continue
    lines.push([`attempt ${a.attempt}`, `${stateText(a)} on ${a.runnerName ?? (a.runner != null ? shortId(a.runner) : '-')}${a.error != null ? `: ${a.error}` : ''}`])
  }
  let text = lines.map(([k, v]) => `${k.padEnd(10)} ${v}`).join('\n')
  if (r.stdout !== '') text += `\n--- stdout (tail; full: mesh logs ${r.id}) ---\n${r.stdout.trimEnd()}`
  if (r.stderr !== '') text += `\n--- stderr (tail) ---\n${r.stderr.trimEnd()}`
  return text
}

export function formatRecords (records: TaskRecord[]): string {
  if (records.length === 0) return 'no tasks'
  return table(['ID', 'NAME', 'STATE', 'EXIT', 'RUNNER', 'NUMA', 'SUBMITTED', 'DURATION'], records.map(r => [
    r.id,
    r.name.length > 30 ? r.name.slice(0, 29) + '…' : r.name,
    r.state,
    r.exitCode == null ? '-' : String(r.exitCode),
    r.runnerName ?? (r.runner != null ? shortId(r.runner) : '-'),
    r.numaNode == null ? '-' : String(r.numaNode),
    r.submittedAt.replace('T', ' ').replace(/\.\d+Z$/, 'Z'),
    duration(r)
  ]))
}
