import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { authorise, consistent, supersedes } from '../../src/protocols/results/index.js'
import type { TaskRecord } from '../../src/protocols/results/index.js'

function rec (over: Partial<TaskRecord>): TaskRecord {
  return {
    id: 'T', name: 't', state: 'running', exitCode: null, runner: 'A', runnerName: 'a', numaNode: 0, attempt: 1,
    dispatcher: 'D', group: 'T', tags: [], submittedAt: new Date().toISOString(), startedAt: new Date().toISOString(),
    finishedAt: null, stdout: '', stderr: '', error: null, updatedAt: 1000, ...over
  }
}

/**
 * What every node does with a gossiped record: authorise the signer (results topic), then keep it
 * if it is consistent with the record held and supersedes it (TaskRecords.put).
 */
function accepted (current: TaskRecord, next: TaskRecord, signer: string): boolean {
  return authorise(next, signer) == null && consistent(current, next) == null && supersedes(current, next)
}

describe('result records cannot be overwritten by a third member', () => {
  const current = rec({})

  it('a member M that is neither runner nor dispatcher cannot mark A\'s task succeeded', () => {
    const forged = rec({ runner: 'M', runnerName: 'm', state: 'succeeded', exitCode: 0, finishedAt: new Date().toISOString(), updatedAt: 2000 })
    assert.equal(accepted(current, forged, 'M'), false)
  })

  it('nor by claiming to be the dispatcher of a running task', () => {
    const forged = rec({ dispatcher: 'M', runner: null, runnerName: null, state: 'rejected', error: 'x', finishedAt: new Date().toISOString(), updatedAt: 2000 })
    assert.equal(accepted(current, forged, 'M'), false)
  })

  it('the genuine runner and dispatcher still move the record on', () => {
    assert.equal(accepted(current, rec({ state: 'succeeded', exitCode: 0, updatedAt: 2000 }), 'A'), true)
    assert.equal(accepted(rec({ runner: null, runnerName: null, state: 'queued' }), rec({ runner: null, runnerName: null, state: 'cancelled', updatedAt: 2000 }), 'D'), true)
    // a retry (attempt 2) may run elsewhere
    assert.equal(accepted(current, rec({ runner: 'B', attempt: 2, updatedAt: 2000 }), 'B'), true)
  })
})

describe('results: a late queued announcement', () => {
  it('is stale, not a clash, once the attempt\'s runner reported: nothing is replaced, nothing is refused', () => {
    const running = { id: 't', name: 't', state: 'running' as const, exitCode: null, runner: 'R', runnerName: 'r', numaNode: 0, attempt: 1, dispatcher: 'D', group: 't', tags: [], submittedAt: '2026-11-22T00:00:00.000Z', startedAt: '2026-11-22T00:00:01.000Z', finishedAt: null, stdout: '', stderr: '', error: null, updatedAt: 2000 }
    const queued = { ...running, state: 'queued' as const, runner: null, runnerName: null, numaNode: null, startedAt: null, updatedAt: 1000 }
    assert.equal(consistent(running, queued), null)
    assert.equal(supersedes(running, queued), false)
    assert.match(consistent(running, { ...queued, state: 'cancelled' }) ?? '', /names runner none/)
  })
})
