import { createReadStream } from 'node:fs'
import { stat } from 'node:fs/promises'
import { resolve } from 'node:path'
import { MeshError, errorMessage } from '../../errors.js'
import { createFileHashes } from './file-hashes.js'
import type { FileHashes } from './file-hashes.js'
import type { OfferedFile } from '../../protocols/push/index.js'

export interface StagedFile extends OfferedFile {
  /** absolute path on the dispatcher */
  src: string
}

/** Hashes every file of a task once, at submit; the manifest travels, the bytes only on demand. */
export async function stageFiles (files: Array<{ src: string, dest: string, readOnly?: boolean }>, hashes: FileHashes = createFileHashes(), baseDir = process.cwd()): Promise<StagedFile[]> {
  return Promise.all(files.map(async f => {
    const src = resolve(baseDir, f.src)
    const named = (err: unknown): never => { throw new MeshError(`task file entry ${f.src}: ${errorMessage(err)}`, 2) }
    const st = await stat(src).catch(named)
    if (!st.isFile()) throw new MeshError(`task file entry ${f.src}: not a regular file`, 2)
    const { sha256, size, mode } = await hashes.hash(src).catch(named)
    return { src, dest: f.dest, sha256, size, mode, ...(f.readOnly === true ? { readOnly: true as const } : {}) }
  }))
}

/** Reads a staged file by hash, in the chunks the push protocol sends. */
export function fileSource (files: StagedFile[]): (sha256: string) => AsyncIterable<Uint8Array> {
  return (sha256) => {
    const f = files.find(x => x.sha256 === sha256)
    if (f == null) throw new Error(`no staged file with hash ${sha256}`)
    return createReadStream(f.src, { highWaterMark: 1024 * 1024 }) as AsyncIterable<Uint8Array>
  }
}
