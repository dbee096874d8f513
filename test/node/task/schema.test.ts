import assert from 'node:assert/strict'
import { readdir, readFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { describe, it } from 'node:test'
import { Ajv } from 'ajv'
import {
  DEFAULT_CORES, DEFAULT_GPUS, DEFAULT_MEMORY_MB, DEFAULT_NUMA, DEFAULT_RETRIES, DEFAULT_TIMEOUT_SEC,
  loadTaskFile, loadTaskSchema, parseTaskFile, taskSchemaPath
} from '../../../src/node/task/index.js'

interface Node { properties?: Record<string, Node>, default?: unknown, title?: string, description?: string, additionalProperties?: unknown, items?: Node }

describe('task schema', () => {
  const schema = loadTaskSchema() as Node & { $id?: string, $schema?: string }

  it('is found from the compiled code and compiles in strict mode', () => {
    assert.match(taskSchemaPath(), /schema[/\\]task\.schema\.json$/)
    assert.ok(typeof schema.$id === 'string' && schema.$id !== '')
    assert.match(String(schema.$schema), /draft-07/)
    new Ajv({ strict: true, allowUnionTypes: true }).compile(schema)
  })

  it('titles and describes every field, and closes every object', () => {
    const walk = (node: Node, path: string): void => {
      if (node.properties == null) return
      assert.equal(node.additionalProperties, false, `${path} allows unknown fields`)
      for (const [key, child] of Object.entries(node.properties)) {
        assert.ok(child.title != null && child.description != null, `${path}.${key} lacks a title or description`)
        walk(child, `${path}.${key}`)
        if (child.items != null) walk(child.items, `${path}.${key}[]`)
      }
    }
    walk(schema, '')
  })

  it("has the parser's defaults", () => {
    const p = schema.properties ?? {}
    const r = p.resources?.properties ?? {}
    assert.equal(r.cores?.default, DEFAULT_CORES)
    assert.equal(r.memoryMB?.default, DEFAULT_MEMORY_MB)
    assert.equal(r.numa?.default, DEFAULT_NUMA)
    assert.equal(r.gpus?.default, DEFAULT_GPUS)
    assert.equal(p.timeoutSec?.default, DEFAULT_TIMEOUT_SEC)
    assert.equal(p.retries?.default, DEFAULT_RETRIES)
    assert.equal(p.shell?.default, false)
    const spec = parseTaskFile('{"command":["x"]}', 't.json')
    assert.deepEqual(spec.resources, { cores: DEFAULT_CORES, memoryMB: DEFAULT_MEMORY_MB, numa: DEFAULT_NUMA, gpus: DEFAULT_GPUS })
  })

  it('accepts every example in examples/, which point editors at the schema', async () => {
    const examples = join(dirname(dirname(taskSchemaPath())), 'examples')
    const names = (await readdir(examples)).filter(n => n.endsWith('.json'))
    assert.ok(names.length >= 3)
    for (const name of names) {
      const path = join(examples, name)
      const spec = await loadTaskFile(path, { checkFiles: false })
      assert.ok(spec.name !== '', name)
      const raw = JSON.parse(await readFile(path, 'utf8')) as { $schema?: string }
      assert.equal(raw.$schema, '../schema/task.schema.json', name)
    }
  })

  it('accepts the example of SPEC.md as it is', async () => {
    const spec = await loadTaskFile(join(dirname(dirname(taskSchemaPath())), 'examples', 'junos-telemetry.json'), { checkFiles: false })
    assert.equal(spec.name, 'junos-telemetry-xai')
    assert.deepEqual(spec.resources, { cores: 2, memoryMB: 1024, numa: 'any', gpus: 0 })
    assert.equal(spec.retries, 1)
  })
})
