/**
 * A task runs as its own process group (spawned `detached`), so one kill(-pgid) reaches every
 * process it forked, including `sleep 1000 &` children the task forgot about.
 */

/** Sends `sig` to the group `pgid`; false when the group is gone (or not ours to signal). */
export function signalGroup (pgid: number, sig: NodeJS.Signals): boolean {
  try {
    process.kill(-pgid, sig)
    return true
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'ESRCH' || code === 'EPERM') return false
    throw err
  }
}
