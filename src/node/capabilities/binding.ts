import type { Capabilities } from './index.js'

/**
 * Whether a task placed on a NUMA node runs behind numactl here: only where there is more than one
 * node to choose from. On a single-node machine the binding is every CPU and all the memory, so
 * numactl would change nothing but cost a process per task (an exec of ~2.5 ms CPU on a small VM)
 * and widen a CPU affinity the daemon was started with (`taskset`) to the whole node.
 */
export function bindsNuma (caps: Pick<Capabilities, 'numactl' | 'numaNodes'>): boolean {
  return caps.numactl && caps.numaNodes.length > 1
}
