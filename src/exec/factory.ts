/**
 * Building executors by name (from config or flags) and picking the first one this host can
 * run, in the operator's order of preference.
 */
import { containerExecutor } from './container/index.js'
import type { ContainerExecutorInit } from './container/index.js'
import { ExecutorUnavailableError } from './errors.js'
import type { Executor, ExecutorName } from './index.js'
import { mockExecutor } from './mock/index.js'
import type { MockExecutorInit } from './mock/index.js'
import { processExecutor } from './process/index.js'
import type { ProcessExecutorInit } from './process/index.js'
import { systemdExecutor } from './systemd/index.js'
import type { SystemdExecutorInit } from './systemd/index.js'

export const EXECUTOR_NAMES: readonly ExecutorName[] = ['process', 'systemd', 'container', 'mock']

/** Every executor's options; each takes the fields it knows. */
export type ExecutorInit = ProcessExecutorInit & SystemdExecutorInit & ContainerExecutorInit & MockExecutorInit

export function isExecutorName (name: string): name is ExecutorName {
  return (EXECUTOR_NAMES as readonly string[]).includes(name)
}

export function createExecutor (name: ExecutorName, init: ExecutorInit = {}): Executor {
  switch (name) {
    case 'process': return processExecutor(init)
    case 'systemd': return systemdExecutor(init)
    case 'container': return containerExecutor(init)
    case 'mock': return mockExecutor(init)
  }
}

export interface Selection {
  executor: Executor
  /** the preferred executors passed over, with why */
  skipped: Array<{ name: ExecutorName, reason: string }>
}

/**
 * The first of `preferences` that is available here, e.g. `['systemd', 'process']`.
 * Throws an ExecutorUnavailableError naming every reason when none is.
 */
export async function selectExecutor (preferences: readonly ExecutorName[], init: ExecutorInit = {}): Promise<Selection> {
  const skipped: Selection['skipped'] = []
  for (const name of preferences) {
    const executor = createExecutor(name, init)
    const availability = await executor.available()
    if (availability.ok) return { executor, skipped }
    skipped.push({ name, reason: availability.reason })
  }
  const reason = skipped.length === 0 ? 'no executor was asked for' : skipped.map((s) => `${s.name}: ${s.reason}`).join('; ')
  throw new ExecutorUnavailableError(preferences.join(', '), reason)
}
