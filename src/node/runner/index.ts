/**
 * The runner: this node's side of running other nodes' (and its own) tasks.
 *
 *   offer ─▶ reserve (Ledger: pure placement on own capacity) ─▶ reply reserved{missing files}
 *        ─▶ receive files into the FileCache ─▶ commit: work dir, journal (fsync), executor.launch,
 *           journal pid + start time
 *        ─▶ publish 'running' ─▶ wait ─▶ publish final record (signed, tails) ─▶ release
 *
 * After a crash, recover() reads the journal: still running → adopted; ended → its exit file says
 * how; gone → `lost`. Full output stays in MESH_HOME/tasks/<id>.<attempt>/{stdout,stderr}.log for `mesh logs`.
 */
export { Runner } from './runner.js'
export type { RunnerComponents, Recovery } from './runner.js'
export { RunJournal, entryKey } from './journal.js'
export type { JournalDb, RunEntry } from './journal.js'
