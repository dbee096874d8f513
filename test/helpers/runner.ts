import { emptyUsage } from '../../src/node/advert.js'
import { silentLogger } from '../../src/node/logger.js'
import { Runner, RunJournal } from '../../src/node/runner/index.js'
import { TaskRecords } from '../../src/node/store/task-records.js'
import type { RunnerComponents } from '../../src/node/runner/index.js'
import type { TaskOffer } from '../../src/protocols/push/index.js'
import { memDb } from './mem-db.js'

/** An offer as a dispatcher 'D' sends it: one core on any NUMA node, no files, 60 s. */
export function taskOffer (id: string, command: string[] = ['true']): TaskOffer {
  return {
    v: 1, id, group: id, attempt: 1, dispatcher: 'D', submittedAt: new Date().toISOString(), name: id, command, shell: false,
    env: {}, cwd: null, tags: [], resources: { cores: 1, memoryMB: 0, gpus: 0, numa: 'any' }, timeoutSec: 60, files: []
  }
}

/**
 * A runner 'R' over `home` with in-memory stores, a silent log, a 2-core single-node machine and
 * nobody listening to what it publishes; `over` replaces any of that (the executor is required).
 */
export function testRunner (home: string, over: Partial<RunnerComponents> & Pick<RunnerComponents, 'executor'>): Runner {
  const log = over.log ?? silentLogger()
  return new Runner({
    peerId: 'R',
    name: () => 'r',
    tags: () => [],
    home,
    capabilities: { cores: 2, memoryMB: 1024, numaNodes: [{ id: 0, cpus: [0, 1], memoryMB: 1024 }], gpus: [], numactl: false },
    usage: emptyUsage(),
    records: new TaskRecords(memDb(), log),
    publish: async () => {},
    capacityChanged: () => {},
    journal: new RunJournal(memDb()),
    log,
    ...over
  })
}
