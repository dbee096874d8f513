/**
 * V8 flags a mesh daemon runs with. Node refuses them in NODE_OPTIONS, so they go on the command
 * line: bin/mesh passes them to `mesh start`, `mesh start --detach` to the daemon it starts. Not to
 * the other commands: with them a short command's process took ~16 ms longer to run (`mesh peers`,
 * median of 40: 162 against 146 ms).
 *
 * `--initial-old-space-size=128`: an idle daemon's live heap is about 25 MiB, and V8 sets its next
 * full collection close above that, counting the buffers of a file transfer (file reads, Noise and
 * swarm-key ciphertext, socket reads: each byte several times over) against it. A daemon sending a
 * staged file ran a mark-compact every ~7 MiB sent; from 128 MiB up it is every ~23 MiB (V8's own
 * external-memory step), and a sender spends about a quarter less CPU per byte, a receiver an
 * eighth (BENCHMARKS.md). Nothing is reserved up front; garbage waits longer for its collection.
 */
export const DAEMON_NODE_FLAGS: readonly string[] = ['--initial-old-space-size=128']

/** Our flags that `execArgv` lacks; one given with another value counts (V8 takes `_` for `-`). */
export function missingDaemonFlags (execArgv: readonly string[]): string[] {
  const name = (flag: string): string => (flag.split('=')[0] ?? flag).replaceAll('_', '-')
  const given = new Set(execArgv.map(name))
  return DAEMON_NODE_FLAGS.filter(f => !given.has(name(f)))
}
