import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { DAEMON_NODE_FLAGS, missingDaemonFlags } from '../../src/cli/node-flags.js'

describe('missingDaemonFlags', () => {
  it('names every flag of a process started without them', () => {
    assert.deepEqual(missingDaemonFlags([]), [...DAEMON_NODE_FLAGS])
    assert.deepEqual(missingDaemonFlags(['--cpu-prof', '--stack-trace-limit=50']), [...DAEMON_NODE_FLAGS])
  })

  it('counts a flag given as bin/mesh gives it, with another value, or with underscores', () => {
    assert.deepEqual(missingDaemonFlags([...DAEMON_NODE_FLAGS]), [])
    assert.deepEqual(missingDaemonFlags(['--initial-old-space-size=512']), [])
    assert.deepEqual(missingDaemonFlags(['--initial_old_space_size=128']), [])
  })
})
