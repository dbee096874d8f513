import type { TaskRecord } from '../protocols/results/index.js'

/** SPEC.md exit codes of `mesh push`: the task's own code passes through, as with `ssh host cmd`. */
export function exitCodeOf (record: TaskRecord): number {
  switch (record.state) {
    case 'succeeded': return 0
    case 'failed': return record.exitCode != null && record.exitCode > 0 ? record.exitCode : 1
    case 'timed_out': return 124
    case 'cancelled': return 130
    case 'rejected': return 3
    default: return 1
  }
}

/** --all: 0 when every task succeeded, else the largest code (what pdsh -S reports). */
export function groupExitCode (records: TaskRecord[]): number {
  return records.reduce((max, r) => Math.max(max, exitCodeOf(r)), 0)
}
