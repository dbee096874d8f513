import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { discovery } from '../../scripts/lib/daemon-logs.js'

const at = (ms: number): string => new Date(Date.UTC(2026, 0, 1) + ms).toISOString()
const line = (ms: number, msg: string, extra: Record<string, unknown> = {}): string => JSON.stringify({ level: 30, time: at(ms), msg, ...extra })

describe('discovery from daemon logs', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mesh-logs-'))
  after(() => { rmSync(dir, { recursive: true, force: true }) })

  it('measures each pair from the later start to the first peer online line, and names pairs never seen', () => {
    const write = (name: string, lines: string[]): { name: string, file: string } => {
      const file = join(dir, `${name}.log`)
      writeFileSync(file, lines.join('\n') + '\nnot json\n')
      return { name, file }
    }
    const hosts = [
      write('h1', [line(0, 'mesh daemon started'), line(1_500, 'peer online', { component: 'peers', name: 'h2' }),
        line(9_000, 'peer online', { component: 'peers', name: 'h2' }), line(6_000, 'peer online', { component: 'peers', name: 'h3' })]),
      write('h2', [line(1_000, 'mesh daemon started'), line(1_200, 'peer online', { component: 'peers', name: 'h1' })]),
      write('h3', [line(5_000, 'mesh daemon started'), line(5_300, 'peer online', { component: 'peers', name: 'h1' }),
        line(5_400, 'peer online', { component: 'liveness', name: 'h2' })]),
      { name: 'h4', file: join(dir, 'absent.log') }
    ]
    const d = discovery(hosts)
    // h1>h2 500 (the first line only), h1>h3 1000, h2>h1 200, h3>h1 300
    assert.deepEqual([...d.pairMs].sort((a, b) => a - b), [200, 300, 500, 1_000])
    assert.deepEqual(d.missing.sort(), ['h2>h3', 'h3>h2'])
    assert.equal(d.lastMs, 1_000, 'h1 learnt of h3 1 s after the last start')
  })
})
