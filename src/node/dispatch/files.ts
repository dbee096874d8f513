import { open, stat } from 'node:fs/promises'
import { resolve } from 'node:path'
import { MeshError, errorMessage } from '../../errors.js'
import { createFileHashes, fileIdentity } from './file-hashes.js'
import type { FileHashes } from './file-hashes.js'
import type { OfferedFile } from '../../protocols/push/index.js'

export interface StagedFile extends OfferedFile {
  /** absolute path on the dispatcher */
  src: string
  /** the file's identity when it was hashed (fileIdentity); absent in jobs queued by an older version */
  identity?: string
}

/** Bytes read at once when a staged file is sent. */
const READ_BYTES = 1024 * 1024

/**
 * A staged file was written after it was hashed (still being copied or built when pushed): its
 * bytes no longer match the hash the offer names, so sending it again, to this runner or another,
 * cannot work. Ends the job with this message instead of a retry per runner until the wait ends.
 */
export class StagedFileChangedError extends MeshError {
  constructor (src: string) {
    super(`${src} changed after it was hashed for this task (still being written?); push again once it is complete`, 2)
    this.name = 'StagedFileChangedError'
  }
}

/** Hashes every file of a task once, at submit; the manifest travels, the bytes only on demand. */
export async function stageFiles (files: Array<{ src: string, dest: string, readOnly?: boolean }>, hashes: FileHashes = createFileHashes(), baseDir = process.cwd()): Promise<StagedFile[]> {
  return Promise.all(files.map(async f => {
    const src = resolve(baseDir, f.src)
    const named = (err: unknown): never => { throw new MeshError(`task file entry ${f.src}: ${errorMessage(err)}`, 2) }
    const st = await stat(src).catch(named)
    if (!st.isFile()) throw new MeshError(`task file entry ${f.src}: not a regular file`, 2)
    const { sha256, size, mode, identity } = await hashes.hash(src).catch(named)
    return { src, dest: f.dest, sha256, size, mode, identity, ...(f.readOnly === true ? { readOnly: true as const } : {}) }
  }))
}

/**
 * Reads a staged file by hash, in the chunks the push protocol sends: its declared size at most,
 * and only while it is the file that was hashed (GNU tar's "file changed as we read it", from
 * stat, before and after). A change is thrown as StagedFileChangedError, also told to `onChanged`.
 */
export function fileSource (files: StagedFile[], onChanged: (err: StagedFileChangedError) => void = () => {}): (sha256: string) => AsyncIterable<Uint8Array> {
  return (sha256) => {
    const f = files.find(x => x.sha256 === sha256)
    if (f == null) throw new Error(`no staged file with hash ${sha256}`)
    return readUnchanged(f, onChanged)
  }
}

async function * readUnchanged (f: StagedFile, onChanged: (err: StagedFileChangedError) => void): AsyncGenerator<Uint8Array> {
  const fh = await open(f.src, 'r')
  try {
    // the open file, not the path: a file renamed over the path after this open is not read
    const check = async (): Promise<void> => {
      if (f.identity == null || fileIdentity(await fh.stat({ bigint: true })) === f.identity) return
      const err = new StagedFileChangedError(f.src)
      onChanged(err)
      throw err
    }
    await check()
    for (let pos = 0; pos < f.size;) {
      const buf = Buffer.allocUnsafe(Math.min(READ_BYTES, f.size - pos))
      const { bytesRead } = await fh.read(buf, 0, buf.byteLength, pos)
      if (bytesRead === 0) break
      pos += bytesRead
      yield bytesRead === buf.byteLength ? buf : buf.subarray(0, bytesRead)
    }
    await check()
  } finally {
    await fh.close()
  }
}
