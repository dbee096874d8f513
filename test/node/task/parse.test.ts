import assert from 'node:assert/strict'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { after, before, describe, it } from 'node:test'
import { loadTaskFile, mergeCliTags, parseTaskFile, taskArgv } from '../../../src/node/task/index.js'
import type { TaskSpec } from '../../../src/node/task/index.js'

/** parseTaskFile fails with one InvalidTaskError line, exit 2, naming the file. */
function assertInvalid (value: unknown, expected: string): void {
  const text = typeof value === 'string' ? value : JSON.stringify(value)
  assert.throws(() => parseTaskFile(text, 'task.json'), (err: Error & { exitCode?: number }) => {
    assert.equal(err.name, 'InvalidTaskError')
    assert.equal(err.exitCode, 2)
    assert.ok(!err.message.includes('\n'), err.message)
    assert.equal(err.message, `task.json: ${expected}`)
    return true
  })
}

const ls = { command: ['ls'] }

describe('parseTaskFile: valid files', () => {
  it('fills every default into a minimal file', () => {
    const spec = parseTaskFile('{ "command": ["/usr/bin/uptime"] }', 'task.json')
    assert.deepEqual(spec, {
      name: 'uptime',
      shell: false,
      command: ['/usr/bin/uptime'],
      env: {},
      cwd: null,
      tags: [],
      resources: { cores: 1, memoryMB: 0, numa: 'any', gpus: 0 },
      timeoutSec: 3600,
      retries: 0,
      files: []
    } satisfies TaskSpec)
  })

  it('keeps every field of a full file, normalising tags and dests', () => {
    const spec = parseTaskFile(JSON.stringify({
      $schema: '../schema/task.schema.json',
      name: 'junos-telemetry-xai',
      command: ['ansible-playbook', 'junos_telemetry.yml', '--limit', 'xai'],
      shell: false,
      env: { ANSIBLE_HOST_KEY_CHECKING: 'false' },
      cwd: '/srv/ansible',
      tags: ['xai', 'junos', 'xai'],
      resources: { cores: 2, memoryMB: 1024, numa: 1, gpus: 1 },
      timeoutSec: 600,
      retries: 1,
      files: [{ src: 'playbooks/junos_telemetry.yml', dest: './play//junos_telemetry.yml' }, { src: 'images/disk.img', dest: 'disk.img', readOnly: true }]
    }), 'task.json', { baseDir: '/home/me/tasks' })
    assert.deepEqual(spec, {
      name: 'junos-telemetry-xai',
      shell: false,
      command: ['ansible-playbook', 'junos_telemetry.yml', '--limit', 'xai'],
      env: { ANSIBLE_HOST_KEY_CHECKING: 'false' },
      cwd: '/srv/ansible',
      tags: ['junos', 'xai'],
      resources: { cores: 2, memoryMB: 1024, numa: 1, gpus: 1 },
      timeoutSec: 600,
      retries: 1,
      files: [
        { src: '/home/me/tasks/playbooks/junos_telemetry.yml', dest: 'play/junos_telemetry.yml', readOnly: false },
        { src: '/home/me/tasks/images/disk.img', dest: 'disk.img', readOnly: true }
      ]
    } satisfies TaskSpec)
  })

  it('runs a string command through /bin/sh when shell is true', () => {
    const spec = parseTaskFile('{ "command": "df -h / && uptime", "shell": true, "resources": { "numa": "none" } }', 't.json')
    assert.equal(spec.shell, true)
    assert.equal(spec.name, 'df')
    assert.equal(spec.resources.numa, 'none')
    assert.deepEqual(taskArgv(spec), ['/bin/sh', '-c', 'df -h / && uptime'])
    assert.deepEqual(taskArgv(parseTaskFile('{"command":["a","b c"]}', 't.json')), ['a', 'b c'])
  })

  it('accepts a byte-order mark, empty argv items and files kept as written without a baseDir', () => {
    const spec = parseTaskFile('\uFEFF{ "command": ["printf", ""], "files": [{ "src": "../x", "dest": "x" }] }', 't.json')
    assert.deepEqual(spec.command, ['printf', ''])
    assert.deepEqual(spec.files, [{ src: '../x', dest: 'x', readOnly: false }])
  })
})

describe('parseTaskFile: invalid files give one line naming the file, the field and the problem', () => {
  const cases: Array<[string, unknown, string]> = [
    ['cores below 1', { ...ls, resources: { cores: 0 } }, "field 'resources.cores': must be >= 1"],
    ['cores not an integer', { ...ls, resources: { cores: 1.5 } }, "field 'resources.cores': must be an integer"],
    ['memory negative', { ...ls, resources: { memoryMB: -1 } }, "field 'resources.memoryMB': must be >= 0"],
    ['gpus as a string', { ...ls, resources: { gpus: '1' } }, "field 'resources.gpus': must be an integer"],
    ['bad numa word', { ...ls, resources: { numa: 'some' } }, 'field \'resources.numa\': must be "any", "none" or a NUMA node number (0-1023)'],
    ['negative numa', { ...ls, resources: { numa: -1 } }, 'field \'resources.numa\': must be "any", "none" or a NUMA node number (0-1023)'],
    ['typo at the top', { comand: ['ls'] }, "field 'comand': unknown field (did you mean 'command'?)"],
    ['typo in resources', { ...ls, resources: { core: 2 } }, "field 'resources.core': unknown field (did you mean 'resources.cores'?)"],
    ['resources at the top', { ...ls, numa: 1 }, "field 'numa': unknown field (did you mean 'resources.numa'?)"],
    ['typo in files', { ...ls, files: [{ src: 'a', dest: 'a', mode: 1 }] }, "field 'files[0].mode': unknown field"],
    ['no command', { name: 'x' }, "field 'command': is required"],
    ['empty argv', { command: [] }, "field 'command': must not be empty"],
    ['empty program', { command: [''] }, "field 'command[0]': must not be empty (it names the program to run)"],
    ['command a number', { command: 5 }, 'field \'command\': must be an argv array of strings, or a string with "shell": true'],
    ['argv item a number', { command: ['sleep', 5] }, "field 'command[1]': must be a string"],
    ['NUL in argv', { command: ['ls', 'a\u0000b'] }, "field 'command[1]': must not contain a NUL character"],
    ['string without shell', { command: 'ls -l' }, 'field \'command\': a string command needs "shell": true (or write it as an argv array: ["prog", "arg"])'],
    ['string with shell false', { command: 'ls -l', shell: false }, 'field \'command\': a string command needs "shell": true (or write it as an argv array: ["prog", "arg"])'],
    ['shell with argv', { command: ['ls'], shell: true }, "field 'shell': true needs a string command (an argv array runs without a shell)"],
    ['blank shell script', { command: '  ', shell: true }, "field 'command': must not be blank"],
    ['shell not boolean', { ...ls, shell: 'yes' }, "field 'shell': must be true or false"],
    ['name empty', { ...ls, name: '' }, "field 'name': must not be empty"],
    ['name with newline', { ...ls, name: 'a\nb' }, "field 'name': must not contain control characters"],
    ['name padded', { ...ls, name: ' a' }, "field 'name': must not start or end with white space"],
    ['name too long', { ...ls, name: 'n'.repeat(129) }, "field 'name': must be at most 128 characters"],
    ['env value not a string', { ...ls, env: { A: 1 } }, "field 'env.A': must be a string"],
    ['env bad name', { ...ls, env: { 'A-B': 'x' } }, "field 'env.A-B': is not a valid variable name (letters, digits and _, not starting with a digit, at most 128)"],
    ['env name with a dot', { ...ls, env: { 'a.b': 'x' } }, 'field \'env."a.b"\': is not a valid variable name (letters, digits and _, not starting with a digit, at most 128)'],
    ['env reserved', { ...ls, env: { MESH_TASK_ID: 'x' } }, "field 'env.MESH_TASK_ID': names starting with MESH_ are reserved for the runner"],
    ['env too many', { ...ls, env: Object.fromEntries(Array.from({ length: 257 }, (_, i) => [`V${i}`, ''])) }, "field 'env': must have at most 256 entries"],
    ['env not an object', { ...ls, env: ['A=1'] }, "field 'env': must be an object"],
    ['relative cwd', { ...ls, cwd: 'srv' }, "field 'cwd': must be an absolute path (starting with '/')"],
    ['bad tag', { ...ls, tags: ['ok', 'x y'] }, "field 'tags[1]': must be a tag: 1-63 letters, digits, '_', '.', ':' or '-', starting with a letter or digit"],
    ['tags a string', { ...ls, tags: 'xai' }, "field 'tags': must be an array"],
    ['too many tags', { ...ls, tags: Array.from({ length: 65 }, (_, i) => `t${i}`) }, "field 'tags': must have at most 64 items"],
    ['timeout zero', { ...ls, timeoutSec: 0 }, "field 'timeoutSec': must be >= 1"],
    ['timeout over a week', { ...ls, timeoutSec: 604801 }, "field 'timeoutSec': must be <= 604800"],
    ['retries 11', { ...ls, retries: 11 }, "field 'retries': must be <= 10"],
    ['files not an array', { ...ls, files: {} }, "field 'files': must be an array"],
    ['file without dest', { ...ls, files: [{ src: 'a' }] }, "field 'files[0].dest': is required"],
    ['absolute dest', { ...ls, files: [{ src: 'a', dest: '/etc/passwd' }] }, "field 'files[0].dest': must be a path relative to the task's work dir (not starting with '/')"],
    ['dest escaping', { ...ls, files: [{ src: 'a', dest: 'a' }, { src: 'b', dest: 'x/../../y' }] }, "field 'files[1].dest': 'x/../../y' escapes the task's work dir"],
    ['dest ..', { ...ls, files: [{ src: 'a', dest: '..' }] }, "field 'files[0].dest': '..' escapes the task's work dir"],
    ['dest is the work dir', { ...ls, files: [{ src: 'a', dest: 'x/..' }] }, "field 'files[0].dest': must name a file inside the work dir"],
    ['dest a folder', { ...ls, files: [{ src: 'a', dest: 'x/' }] }, "field 'files[0].dest': must name a file, not a folder (no trailing '/')"],
    ['dest repeated', { ...ls, files: [{ src: 'a', dest: 'b' }, { src: 'c', dest: './b' }] }, "field 'files[1].dest': 'b' is already the dest of files[0]"],
    ['dest inside another', { ...ls, files: [{ src: 'a', dest: 'b' }, { src: 'c', dest: 'b/c' }] }, "field 'files[1].dest': 'b/c' is inside files[0].dest 'b'"],
    ['empty src', { ...ls, files: [{ src: '', dest: 'b' }] }, "field 'files[0].src': must not be empty"],
    ['readOnly not a boolean', { ...ls, files: [{ src: 'a', dest: 'b', readOnly: 'yes' }] }, "field 'files[0].readOnly': must be true or false"],
    ['not an object', [], 'must be a JSON object (the task)'],
    ['null', null, 'must be a JSON object (the task)']
  ]
  for (const [title, value, expected] of cases) {
    it(title, () => assertInvalid(value, expected))
  }

  it('reports JSON syntax errors with line and column', () => {
    assertInvalid('{\n  "command": ["ls"]\n  "tags": []\n}', "not valid JSON at line 3 column 3: expected ',' or '}' after property value")
    assertInvalid('{"command": }', 'not valid JSON at line 1 column 13: unexpected "}"')
    assertInvalid('{"command": ["ls"],}', 'not valid JSON at line 1 column 20: expected double-quoted property name')
    assertInvalid('{"command": tru}', 'not valid JSON at line 1 column 16: unexpected "}"')
    assertInvalid("{'command': 1}", 'not valid JSON at line 1 column 2: expected property name or \'}\'')
    assertInvalid('{"command": ["ls"]', 'not valid JSON: it ends early, at line 1 column 19 (truncated?)')
    assertInvalid('{"command": ["ls"]}\n\n  x', 'not valid JSON at line 3 column 3: unexpected non-whitespace character after JSON')
    assertInvalid('', 'not valid JSON (the file is empty)')
    assertInvalid(' \n', 'not valid JSON (the file is empty)')
  })

  it('refuses a file over 1 MiB before parsing it', () => {
    assertInvalid(`{"command":["ls"],"name":"${'x'.repeat(1024 * 1024)}"}`, `too large (${1024 * 1024 + 28} bytes; a task file holds at most 1048576)`)
  })

  it('carries the field and the problem apart', () => {
    assert.throws(() => parseTaskFile('{"command":["ls"],"retries":-1}', 'x.json'),
      (err: { field?: string, problem?: string, path?: string }) =>
        err.field === 'retries' && err.problem === 'must be >= 0' && err.path === 'x.json')
  })
})

describe('mergeCliTags', () => {
  const spec = parseTaskFile('{"command":["ls"],"tags":["xai","b"]}', 't.json')

  it('adds CLI tags to the file tags, deduped and sorted', () => {
    assert.deepEqual(mergeCliTags(spec, ['junos', 'xai', 'a']).tags, ['a', 'b', 'junos', 'xai'])
    assert.deepEqual(mergeCliTags(spec, []).tags, ['b', 'xai'])
    assert.deepEqual(spec.tags, ['b', 'xai'], 'the input spec is unchanged')
  })

  it('rejects bad or too many CLI tags as usage errors', () => {
    assert.throws(() => mergeCliTags(spec, ['x y']), { name: 'UsageError', message: /^invalid tag 'x y'/ })
    assert.throws(() => mergeCliTags(spec, Array.from({ length: 63 }, (_, i) => `t${i}`)), { name: 'UsageError', message: /too many tags \(65/ })
  })
})

describe('loadTaskFile', () => {
  let dir: string
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mesh-task-'))
    await mkdir(join(dir, 'play'))
    await writeFile(join(dir, 'play', 'site.yml'), '- hosts: all\n')
  })
  after(async () => { await rm(dir, { recursive: true, force: true }) })

  it('resolves files[].src against the task file folder and checks they exist', async () => {
    const path = join(dir, 'task.json')
    await writeFile(path, JSON.stringify({ command: ['ansible-playbook', 'site.yml'], files: [{ src: 'play/site.yml', dest: 'site.yml' }] }))
    const spec = await loadTaskFile(path)
    assert.deepEqual(spec.files, [{ src: join(dir, 'play', 'site.yml'), dest: 'site.yml', readOnly: false }])
  })

  it('names a missing or non-regular src file', async () => {
    const path = join(dir, 'missing.json')
    await writeFile(path, JSON.stringify({ command: ['ls'], files: [{ src: 'nope.yml', dest: 'a' }, { src: 'play', dest: 'b' }] }))
    await assert.rejects(loadTaskFile(path), { name: 'InvalidTaskError', message: `${path}: field 'files[0].src': cannot read ${join(dir, 'nope.yml')}: no such file or directory` })
    const spec = await loadTaskFile(path, { checkFiles: false })
    assert.equal(spec.files.length, 2)
    const dirSrc = join(dir, 'dir-src.json')
    await writeFile(dirSrc, JSON.stringify({ command: ['ls'], files: [{ src: 'play', dest: 'b' }] }))
    await assert.rejects(loadTaskFile(dirSrc), { message: `${dirSrc}: field 'files[0].src': ${join(dir, 'play')} is not a regular file` })
  })

  it('reads stdin for "-", resolving src against the current folder', async () => {
    const stdin = Readable.from([Buffer.from('{"command":["ls"],'), Buffer.from('"files":[{"src":"play/site.yml","dest":"s"}]}')])
    const spec = await loadTaskFile('-', { stdin, cwd: dir })
    assert.deepEqual(spec.files, [{ src: join(dir, 'play', 'site.yml'), dest: 's', readOnly: false }])
    await assert.rejects(loadTaskFile('-', { stdin: Readable.from(['{"command":']) }), { message: '<stdin>: not valid JSON: it ends early, at line 1 column 12 (truncated?)' })
  })

  it('says why a file cannot be read, exit 2', async () => {
    await assert.rejects(loadTaskFile(join(dir, 'absent.json')), (err: Error & { exitCode?: number }) => {
      assert.equal(err.name, 'InvalidTaskError')
      assert.equal(err.exitCode, 2)
      assert.equal(err.message, `${join(dir, 'absent.json')}: cannot read: no such file or directory`)
      return true
    })
    await assert.rejects(loadTaskFile(dir), { message: `${dir}: cannot read: is a directory` })
  })
})
