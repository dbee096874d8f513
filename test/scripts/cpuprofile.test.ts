import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { callersOf } from '../../scripts/lib/cpuprofile.js'

const nm = (path: string): string => `file:///srv/mesh/node_modules/${path}`

/** root → forwardMessage → processSendQueue → writeBuffer; root → handleData → sendWindowUpdate → writeBuffer */
const profile = {
  nodes: [
    { id: 1, callFrame: { functionName: '(root)', url: '', lineNumber: -1 }, children: [2, 6, 9] },
    { id: 2, callFrame: { functionName: 'forwardMessage', url: nm('@libp2p/gossipsub/dist/src/gossipsub.js'), lineNumber: 1719 }, children: [3] },
    { id: 3, callFrame: { functionName: 'processSendQueue', url: nm('@libp2p/utils/dist/src/abstract-message-stream.js'), lineNumber: 325 }, children: [4] },
    { id: 4, callFrame: { functionName: 'writeBuffer', url: '', lineNumber: -1 }, children: [] },
    { id: 6, callFrame: { functionName: 'handleData', url: nm('@chainsafe/libp2p-yamux/dist/src/stream.js'), lineNumber: 163 }, children: [7] },
    { id: 7, callFrame: { functionName: 'sendWindowUpdate', url: nm('@chainsafe/libp2p-yamux/dist/src/stream.js'), lineNumber: 214 }, children: [8] },
    { id: 8, callFrame: { functionName: 'writeBuffer', url: '', lineNumber: -1 }, children: [] },
    { id: 9, callFrame: { functionName: '(idle)', url: '', lineNumber: -1 }, children: [] }
  ],
  samples: [4, 4, 8, 9, 2],
  timeDeltas: [1000, 1000, 1000, 1000, 1000],
  startTime: 0,
  endTime: 5000
}

describe('callersOf', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mesh-cpuprofile-test-'))
  after(() => { rmSync(dir, { recursive: true, force: true }) })
  const file = join(dir, 'CPU.cpuprofile')
  writeFileSync(file, JSON.stringify(profile))
  const skip = /\(@libp2p\/utils\)$/

  it('names the first frames above each sample of the function that are not skipped, with their time', () => {
    assert.deepEqual(callersOf(file, 'writeBuffer', { skip }), [
      ['forwardMessage (@libp2p/gossipsub)', 2],
      ['sendWindowUpdate (@chainsafe/libp2p-yamux) < handleData (@chainsafe/libp2p-yamux)', 1]
    ])
  })

  it('keeps only samples in the window, and as many frames as asked', () => {
    assert.deepEqual(callersOf(file, 'writeBuffer', { skip, window: [0, 2500] }), [['forwardMessage (@libp2p/gossipsub)', 2]])
    assert.deepEqual(callersOf(file, 'writeBuffer', { skip, depth: 1, window: [2500, 5000] }), [['sendWindowUpdate (@chainsafe/libp2p-yamux)', 1]])
  })

  it('says so when every frame above was skipped', () => {
    assert.deepEqual(callersOf(file, 'writeBuffer', { skip: /./, window: [0, 1500] }), [['(no caller outside the skipped frames)', 1]])
  })
})
