/** Locates test/fixtures/sysfs/<name> whether the tests run from dist/ or from the sources. */
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { SystemReader } from '../../../src/node/capabilities/index.js'

export type SysfsFixture = 'one-node' | 'two-node' | 'memory-only-node' | 'no-numa'

export function sysfsFixture (name: SysfsFixture): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  while (!existsSync(join(dir, 'test', 'fixtures', 'sysfs'))) {
    const parent = dirname(dir)
    if (parent === dir) throw new Error('test/fixtures/sysfs not found above ' + fileURLToPath(import.meta.url))
    dir = parent
  }
  return join(dir, 'test', 'fixtures', 'sysfs', name)
}

const enoent = (path: string): Error => Object.assign(new Error(`ENOENT: no such file, ${path}`), { code: 'ENOENT' })

/** A Map-backed reader for cases too odd for a folder; directories are implied by file paths. */
export function memoryReader (files: Record<string, string>, root?: string): SystemReader {
  const paths = Object.keys(files)
  const isDir = (path: string): boolean => paths.some((p) => p.startsWith(path + '/'))
  return {
    root,
    readFile: (path) => {
      const text = files[path]
      return text === undefined ? Promise.reject(enoent(path)) : Promise.resolve(text)
    },
    readdir: (path) => {
      if (!isDir(path)) return Promise.reject(enoent(path))
      const names = paths.filter((p) => p.startsWith(path + '/')).map((p) => p.slice(path.length + 1).split('/')[0] as string)
      return Promise.resolve([...new Set(names)].sort())
    },
    exists: (path) => Promise.resolve(files[path] !== undefined || isDir(path))
  }
}
