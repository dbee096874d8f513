/**
 * Issue 3 end to end: real daemons on loopback; `mesh push` places tasks by tags and capacity,
 * runs them on the chosen peer (NUMA-bound on a fixture two-node machine), and every node learns
 * the result. status, logs and cancel work from a node that did not dispatch.
 */
import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { Cluster, FAST_CONFIG, FIXTURES, waitFor } from '../helpers/daemons.js'
import type { TestDaemon } from '../helpers/daemons.js'
import type { TaskRecord } from '../../src/protocols/results/index.js'

describe('dispatch across three daemons', () => {
  const cluster = new Cluster()
  let a: TestDaemon, b: TestDaemon, c: TestDaemon
  let dir: string

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mesh-tasks-'))
    a = await cluster.start({ tags: ['xai,junos'], config: FAST_CONFIG })
    // b pretends to be a two-NUMA-node machine, with a numactl that records instead of binding
    b = await cluster.start({
      tags: ['regression,xai'],
      bootstrap: [a.addr],
      config: FAST_CONFIG,
      env: { MESH_SYSFS_ROOT: join(FIXTURES, 'sysfs', 'two-node'), PATH: `${join(FIXTURES, 'bin')}:${process.env.PATH ?? ''}` }
    })
    c = await cluster.start({ tags: ['junos'], bootstrap: [a.addr], config: FAST_CONFIG })
    for (const d of [a, b, c]) {
      await waitFor(`mesh formed at ${d.id}`, async () => (await d.peers()).filter(p => p.state === 'online').length === 3)
    }
  })

  after(async () => {
    await cluster.stopAll()
    // task files written by the tests; every run used to leave one of these behind
    if (dir != null) await rm(dir, { recursive: true, force: true })
  })

  async function task (name: string, body: unknown): Promise<string> {
    const file = join(dir, name)
    await writeFile(file, JSON.stringify(body))
    return file
  }

  it('runs a task on the one peer holding both tags, passing output and exit code through', async () => {
    const file = await task('both.json', { command: ['sh', '-c', 'echo "on $MESH_TASK_ID attempt $MESH_ATTEMPT"; echo oops >&2; exit 7'], tags: ['regression'] })
    const r = await c.cli(['push', '--tag', 'xai', file])
    assert.equal(r.code, 7, r.stderr)
    assert.match(r.stdout, /^on [0-9a-z]+ attempt 1\n$/)
    assert.match(r.stderr, /oops/)
    const j = await c.cli(['push', '--json', '--tag', 'xai,regression', file])
    const rec = JSON.parse(j.stdout) as TaskRecord
    assert.equal(rec.runner, b.id)
    assert.equal(rec.state, 'failed')
    assert.equal(rec.exitCode, 7)
    assert.match(rec.stdout, /attempt 1/)
    for (const key of ['id', 'name', 'state', 'exitCode', 'runner', 'numaNode', 'attempt', 'submittedAt', 'startedAt', 'finishedAt', 'stdout', 'stderr', 'error']) {
      assert.ok(key in rec, `result record lacks ${key}`)
    }
  })

  it('a task tagged junos runs only where junos is (also when the dispatcher holds it)', async () => {
    const runners = new Set<string>()
    for (let i = 0; i < 6; i++) {
      const r = await b.cli(['push', '--json', '--tag', 'junos', '--', 'true'])
      assert.equal(r.code, 0, r.stderr)
      runners.add((JSON.parse(r.stdout) as TaskRecord).runner ?? '')
    }
    for (const id of runners) assert.ok([a.id, c.id].includes(id), `ran on ${id}`)
  })

  it('--all runs on every matching peer with pdsh-style prefixes', async () => {
    const r = await a.cli(['push', '--all', '--tag', 'xai', '--', 'sh', '-c', 'echo hello; echo world'])
    assert.equal(r.code, 0, r.stderr)
    const lines = r.stdout.trim().split('\n').sort()
    assert.equal(lines.length, 4)
    assert.ok(lines.every(l => /^\S+: (hello|world)$/.test(l)), r.stdout)
    const j = await a.cli(['push', '--all', '--json', '--tag', 'xai', '--', 'true'])
    const recs = JSON.parse(j.stdout) as TaskRecord[]
    assert.deepEqual(recs.map(x => x.runner).sort(), [a.id, b.id].sort())
  })

  it('a tag nobody holds fails with exit 3 and the reasons', async () => {
    const r = await a.cli(['push', '--wait', '1', '--tag', 'gpu-h100', '--', 'true'])
    assert.equal(r.code, 3, r.stderr)
    assert.match(r.stderr, /no peer can take the task/)
    assert.match(r.stderr, /gpu-h100/)
  })

  it('a bad task file is exit 2 naming file and field; nothing is dispatched', async () => {
    const before = (await a.cli(['tasks', '--json'])).stdout
    const file = await task('bad.json', { command: ['true'], resources: { cores: 0 } })
    const r = await a.cli(['push', file])
    assert.equal(r.code, 2)
    assert.match(r.stderr, /bad\.json/)
    assert.match(r.stderr, /resources\.cores/)
    assert.equal((await a.cli(['tasks', '--json'])).stdout, before)
  })

  it('a NUMA-pinned task gets MESH_NUMA_NODE and its cores are accounted on that node', async () => {
    const file = await task('numa.json', { command: ['sh', '-c', 'echo "numa=$MESH_NUMA_NODE bind=$MESH_TEST_NUMACTL"; sleep 3'], resources: { cores: 3 } })
    const pushing = a.cli(['push', '--json', '--target', `${b.id}:1`, file])
    const busy = await waitFor('cores reserved on b node 1', async () => {
      const pb = (await c.peers()).find(p => p.id === b.id)
      return pb?.numa.find(n => n.id === 1)?.freeCores === 1 ? pb : undefined
    })
    assert.equal(busy.numa.find(n => n.id === 0)?.freeCores, 4)
    assert.equal(busy.running, 1)
    const r = await pushing
    const rec = JSON.parse(r.stdout) as TaskRecord
    assert.equal(rec.numaNode, 1)
    assert.match(rec.stdout, /numa=1 bind=--cpunodebind=1 --membind=1/)
    await waitFor('cores released', async () => (await c.peers()).find(p => p.id === b.id)?.numa.find(n => n.id === 1)?.freeCores === 4)
  })

  it('asking for more cores than a NUMA node has is refused with the reason', async () => {
    const file = await task('huge.json', { command: ['true'], resources: { cores: 64 } })
    const r = await a.cli(['push', '--wait', '0', file])
    assert.equal(r.code, 3)
    assert.match(r.stderr, /core/)
  })

  it('status, logs and cancel work from a node that did not dispatch', async () => {
    const file = await task('long.json', { command: ['sh', '-c', 'echo started; sleep 60'], tags: ['regression'] })
    const d = await a.cli(['push', '--detach', file])
    assert.equal(d.code, 0, d.stderr)
    const id = d.stdout.trim()
    await waitFor('c sees it running', async () => {
      const s = await c.cli(['status', '--json', id])
      return s.code === 0 && (JSON.parse(s.stdout) as TaskRecord).state === 'running'
    })
    const logs = await waitFor('logs from c', async () => {
      const l = await c.cli(['logs', id])
      return l.code === 0 && l.stdout.includes('started') ? l : undefined
    })
    assert.equal(logs.stdout, 'started\n')
    const human = await c.cli(['status', id])
    assert.match(human.stdout, /state\s+running/)
    const cancel = await c.cli(['cancel', id])
    assert.equal(cancel.code, 0, cancel.stderr)
    const final = await waitFor('cancelled everywhere', async () => {
      const recs = await Promise.all([a, b, c].map(async x => JSON.parse((await x.cli(['status', '--json', id])).stdout) as TaskRecord))
      return recs.every(rec => rec.state === 'cancelled') ? recs[0] : undefined
    })
    assert.equal(final.exitCode, 130)
    const listed = JSON.parse((await b.cli(['tasks', '--json', '--state', 'cancelled'])).stdout) as TaskRecord[]
    assert.ok(listed.some(t => t.id === id))
  })

  it('a --all group: mesh logs prints every child\'s output prefixed with its peer, mesh cancel stops every child, mesh tasks lists the children', async () => {
    const d = await a.cli(['push', '--all', '--tag', 'junos', '--detach', '--', 'sh', '-c', 'echo started; echo warm >&2; sleep 60'])
    assert.equal(d.code, 0, d.stderr)
    const id = d.stdout.trim()
    const names = new Map([[a.id, a.info.name], [c.id, c.info.name]])
    const logs = await waitFor('every child\'s output, from b (neither dispatcher nor runner)', async () => {
      const l = await b.cli(['logs', id])
      return l.code === 0 && l.stdout.split('\n').length === 3 && l.stderr.split('\n').length === 3 ? l : undefined
    })
    assert.deepEqual(logs.stdout.split('\n').filter(Boolean).sort(), [...names.values()].map(n => `${n}: started`).sort())
    assert.deepEqual(logs.stderr.split('\n').filter(Boolean).sort(), [...names.values()].map(n => `${n}: warm`).sort())
    const cancel = await b.cli(['cancel', id])
    assert.equal(cancel.code, 0, cancel.stderr)
    assert.equal(cancel.stdout.trim().split('\n').length, 2, cancel.stdout)
    await waitFor('every child cancelled', async () => {
      const recs = JSON.parse((await a.cli(['status', '--json', id])).stdout) as TaskRecord[]
      return recs.length === 2 && recs.every(r => r.state === 'cancelled')
    })
    const listed = JSON.parse((await c.cli(['tasks', '--json'])).stdout) as TaskRecord[]
    assert.deepEqual(listed.filter(r => r.group === id).map(r => r.id).sort(), [`${id}-1`, `${id}-2`], 'the children, not a group record left queued')
    const again = await b.cli(['cancel', id])
    assert.equal(again.code, 0)
    assert.match(again.stdout, /every task of group .* already ended/)
  })

  it('mesh status --wait of a --all group, on its dispatcher and on another node right after --detach, waits for every task and exits with the largest code', async () => {
    const d = await a.cli(['push', '--all', '--tag', 'junos', '--detach', '--', 'sh', '-c', 'sleep 1; case $MESH_TASK_ID in *-1) exit 2 ;; *) exit 5 ;; esac'])
    assert.equal(d.code, 0, d.stderr)
    const id = d.stdout.trim()
    // b has no record of it yet: the group reaches it with its runners' first records
    const [there, here] = await Promise.all([b.cli(['status', '--wait', '--json', id]), a.cli(['status', '--wait', id])])
    assert.equal(there.code, 5, there.stderr)
    const recs = JSON.parse(there.stdout) as TaskRecord[]
    assert.deepEqual(recs.map(r => [r.id, r.state, r.exitCode]), [[`${id}-1`, 'failed', 2], [`${id}-2`, 'failed', 5]])
    assert.equal(here.code, 5, here.stderr)
    assert.match(here.stdout, new RegExp(`${id}-1 .*failed\\s+2[\\s\\S]*${id}-2 .*failed\\s+5`))
    const unknown = await b.cli(['status', '--wait', 'nosuchtask'])
    assert.equal(unknown.code, 1)
    assert.match(unknown.stderr, /no task nosuchtask is known to this node/)
  })

  it('push --all passes output through byte for byte: a character split between two chunks stays whole', async () => {
    // 'ü' is \303\274: the runner sends the first byte a second before the second
    const r = await a.cli(['push', '--all', '--tag', 'junos', '--', 'sh', '-c', 'printf "a\\303"; sleep 1; printf "\\274b\\n"'])
    assert.equal(r.code, 0, r.stderr)
    assert.deepEqual(r.stdout.split('\n').filter(Boolean).sort(), [a.info.name, c.info.name].map(n => `${n}: aüb`).sort())
  })

  it('mesh logs -f right after push --detach waits for the task to start, on any node, for a task or a group', async () => {
    const cmd = ['sh', '-c', 'echo first; sleep 0.5; echo last']
    const one = (await a.cli(['push', '--detach', '--tag', 'regression', '--', ...cmd])).stdout.trim()
    const other = (await a.cli(['push', '--detach', '--tag', 'regression', '--', ...cmd])).stdout.trim()
    const group = (await a.cli(['push', '--all', '--tag', 'junos', '--detach', '--', ...cmd])).stdout.trim()
    const unplaceable = (await a.cli(['push', '--detach', '--wait', '0', '--tag', 'nosuchtag', '--', 'true'])).stdout.trim()
    const [here, there, all, never] = await Promise.all([a.cli(['logs', '-f', one]), c.cli(['logs', '-f', other]), a.cli(['logs', '-f', group]), a.cli(['logs', '-f', unplaceable])])
    assert.equal(here.code, 0, here.stderr)
    assert.equal(here.stdout, 'first\nlast\n')
    assert.equal(there.code, 0, there.stderr)
    assert.equal(there.stdout, 'first\nlast\n')
    assert.equal(all.code, 0, all.stderr)
    assert.deepEqual(all.stdout.split('\n').filter(Boolean).sort(), [a.info.name, c.info.name].flatMap(n => [`${n}: first`, `${n}: last`]).sort())
    assert.equal(never.code, 1)
    assert.match(never.stderr, /ended without running: rejected: no peer can take the task/)
  })

  it('mesh logs -f follows a running task from another node until it ends', async () => {
    const d = await a.cli(['push', '--detach', '--tag', 'regression', '--', 'sh', '-c', 'for i in 1 2 3; do echo line $i; sleep 0.4; done'])
    const id = d.stdout.trim()
    await waitFor('c knows the runner', async () => {
      const s = await c.cli(['status', '--json', id])
      return s.code === 0 && (JSON.parse(s.stdout) as TaskRecord).runner != null
    })
    const f = await c.cli(['logs', '-f', id])
    assert.equal(f.code, 0, f.stderr)
    assert.equal(f.stdout, 'line 1\nline 2\nline 3\n')
  })

  it('stages files into the work dir and does not resend a file the runner already holds', async () => {
    const payload = join(dir, 'payload.txt')
    await writeFile(payload, 'x'.repeat(200_000) + '\nend\n')
    const file = await task('files.json', {
      command: ['sh', '-c', 'tail -n 1 data/payload.txt; wc -c < data/payload.txt'],
      files: [{ src: 'payload.txt', dest: 'data/payload.txt' }]
    })
    const first = await a.cli(['push', '--target', b.id, file])
    assert.equal(first.code, 0, first.stderr)
    assert.equal(first.stdout, 'end\n200005\n')
    const second = await a.cli(['push', '--target', b.id, file])
    assert.equal(second.stdout, first.stdout)
    const sent = [...a.stderr().matchAll(/"sentFiles":(\d+)/g)].map(m => Number(m[1]))
    assert.deepEqual(sent.slice(-2), [1, 0])
  })

  it('a staged script keeps its execute bit: the task runs it directly', async () => {
    await writeFile(join(dir, 'run.sh'), '#!/bin/sh\necho "ran $1"\n', { mode: 0o755 })
    const file = await task('script.json', { command: ['./tools/run.sh', 'staged'], files: [{ src: 'run.sh', dest: 'tools/run.sh' }] })
    const r = await a.cli(['push', '--target', b.id, file])
    assert.equal(r.code, 0, r.stderr)
    assert.equal(r.stdout, 'ran staged\n')
  })

  it('links a read-only file from the runner\'s cache; a task that writes to it anyway gets the file dropped and sent again', async () => {
    await writeFile(join(dir, 'image.bin'), 'disk image\n')
    const read = await task('ro.json', {
      command: ['sh', '-c', 'stat -c "%h %a" in/image.bin; cat in/image.bin'],
      files: [{ src: 'image.bin', dest: 'in/image.bin', readOnly: true }]
    })
    const first = await a.cli(['push', '--target', b.id, read])
    assert.equal(first.code, 0, first.stderr)
    assert.equal(first.stdout, '2 444\ndisk image\n', 'a second name of the cached file, read-only')
    const tamper = await task('tamper.json', {
      command: ['sh', '-c', 'chmod u+w image.bin && echo changed >> image.bin'],
      files: [{ src: 'image.bin', dest: 'image.bin', readOnly: true }]
    })
    assert.equal((await a.cli(['push', '--target', b.id, tamper])).code, 0)
    const before = a.stderr().length
    const again = await a.cli(['push', '--target', b.id, read])
    assert.equal(again.code, 0, again.stderr)
    assert.equal(again.stdout, '2 444\ndisk image\n', 'the original bytes, fetched again')
    assert.match(a.stderr().slice(before), /"sentFiles":1/)
    assert.match(b.stderr(), /a cached file was changed on disk/)
  })

  it('--all spreads a staged file runner to runner: the dispatcher sends it once, the other runner fetches it from a peer', async () => {
    const payload = join(dir, 'spread.bin')
    await writeFile(payload, randomBytes(3 * 1024 * 1024))
    const want = createHash('sha256').update(await readFile(payload)).digest('hex')
    const file = await task('spread.json', {
      command: ['sh', '-c', 'sha256sum spread.bin | cut -c1-64'],
      files: [{ src: 'spread.bin', dest: 'spread.bin' }]
    })
    const before = a.stderr().length
    const r = await a.cli(['push', '--all', file])
    assert.equal(r.code, 0, r.stderr)
    const lines = r.stdout.trim().split('\n')
    assert.equal(lines.length, 3, r.stdout)
    for (const line of lines) assert.match(line, new RegExp(`${want}$`))
    // a runs its own child from the file on disk; of b and c, one gets the dispatcher's bytes and
    // the other fetches from it (one upload per source; cut-through: it reads while they arrive)
    const placed = [...a.stderr().slice(before).matchAll(/"peer":"(\w+)".*"sentFiles":(\d+),"fetchedFiles":(\d+)/g)]
      .filter(m => m[1] !== a.id).map(m => ({ sent: Number(m[2]), fetched: Number(m[3]) })).sort((x, y) => y.sent - x.sent)
    assert.deepEqual(placed, [{ sent: 1, fetched: 0 }, { sent: 0, fetched: 1 }])
  })

  it('a task file cannot escape its work dir', async () => {
    const file = await task('escape.json', { command: ['true'], files: [{ src: 'escape.json', dest: '../../etc/x' }] })
    const r = await a.cli(['push', file])
    assert.equal(r.code, 2)
    assert.match(r.stderr, /files\[0\]\.dest/)
  })
})

describe('the dispatcher queue', () => {
  const cluster = new Cluster()
  after(async () => { await cluster.stopAll() })

  it('keeps a waiting task across a dispatcher restart and places it when capacity appears', async () => {
    const a = await cluster.start({ config: FAST_CONFIG })
    const d = await a.cli(['push', '--detach', '--wait', '120', '--tag', 'later', '--', 'sh', '-c', 'echo placed late'])
    assert.equal(d.code, 0, d.stderr)
    const id = d.stdout.trim()
    assert.equal((JSON.parse((await a.cli(['status', '--json', id])).stdout) as TaskRecord).state, 'queued')
    assert.equal((await cluster.stop(a)).code, 0)

    const again = await cluster.start({ home: a.home, config: FAST_CONFIG })
    const late = await cluster.start({ tags: ['later'], bootstrap: [again.addr], config: FAST_CONFIG })
    const rec = await waitFor('task placed after restart', async () => {
      const s = await again.cli(['status', '--json', id])
      const r = JSON.parse(s.stdout) as TaskRecord
      return r.state === 'succeeded' ? r : undefined
    }, 60_000)
    assert.equal(rec.runner, late.id)
    assert.match(rec.stdout, /placed late/)
  })
})
