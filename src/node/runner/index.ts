/**
 * The runner: this node's side of running other nodes' (and its own) tasks.
 *
 *   offer ─▶ reserve (Ledger: pure placement on own capacity) ─▶ reply reserved{missing files}
 *        ─▶ receive files into the FileCache ─▶ commit: work dir, persist, executor.launch
 *        ─▶ publish 'running' ─▶ wait ─▶ publish final record (signed, tails) ─▶ release
 *
 * Full output stays in MESH_HOME/tasks/<id>.<attempt>/{stdout,stderr}.log for `mesh logs`.
 */
export { Runner } from './runner.js'
export type { RunnerComponents } from './runner.js'
