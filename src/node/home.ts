/**
 * A node's home (`MESH_HOME`): every file a node owns lives under one folder, so two daemons with
 * different homes run side by side on one machine.
 *
 * Also holds the small file-system helpers the home's owners share: an atomic writer (a crash never
 * leaves a half-written key or config) and a one-line description of an errno.
 */
import { randomBytes } from 'node:crypto'
import { constants as fsConstants } from 'node:fs'
import { access, link, mkdir, open, rename, stat, unlink } from 'node:fs/promises'
import { homedir } from 'node:os'
import { basename, dirname, join, resolve } from 'node:path'
import { MeshError, UsageError } from '../errors.js'

export interface HomePaths {
  root: string
  /** Ed25519 private key, libp2p protobuf encoding, mode 0600 */
  key: string
  /** config.json */
  config: string
  /** swarm.key (libp2p pnet pre-shared key); absent on an open mesh */
  swarmKey: string
  /** level database folder */
  db: string
  /** control socket the CLI talks to */
  socket: string
  /** daemon log when detached */
  log: string
  /** per-task work dirs */
  tasks: string
}

export const DEFAULT_HOME_DIR = '.mesh'

/**
 * `--home` beats `MESH_HOME` beats `~/.mesh`. Always absolute, so a daemon that changes directory
 * (or a socket path handed to another process) still points at the same place.
 */
export function resolveHome (flag?: string, env: NodeJS.ProcessEnv = process.env): string {
  const home = env.HOME != null && env.HOME !== '' ? env.HOME : homedir()
  if (flag != null) {
    if (flag.trim() === '') throw new UsageError('--home: must not be empty')
    return expand(flag, home)
  }
  // an empty MESH_HOME is treated as unset, as shells make `MESH_HOME= mesh …` easy to type
  const fromEnv = env.MESH_HOME
  if (fromEnv != null && fromEnv.trim() !== '') return expand(fromEnv, home)
  return join(home, DEFAULT_HOME_DIR)
}

/** `--home=~/x` reaches us unexpanded (the shell only expands a word-initial `~`). */
function expand (path: string, home: string): string {
  if (path === '~') return home
  if (path.startsWith('~/')) return join(home, path.slice(2))
  return resolve(path)
}

export function homePaths (root: string): HomePaths {
  const abs = resolve(root)
  return {
    root: abs,
    key: join(abs, 'node.key'),
    config: join(abs, 'config.json'),
    swarmKey: join(abs, 'swarm.key'),
    db: join(abs, 'db'),
    socket: join(abs, 'mesh.sock'),
    log: join(abs, 'daemon.log'),
    tasks: join(abs, 'tasks')
  }
}

/**
 * Creates the home (mode 0700: it holds the node's private key) and checks it is a usable folder.
 * An existing home keeps its mode: tightening it silently could break a setup someone chose.
 */
export async function ensureHome (root: string): Promise<HomePaths> {
  const paths = homePaths(root)
  const fail = (problem: string, cause: unknown): MeshError =>
    new MeshError(`cannot use ${paths.root} as mesh home: ${problem}`, 1, { cause })
  try {
    await mkdirs(paths.root, 0o700)
  } catch (err) {
    if (errnoCode(err) === 'ENOTDIR') throw fail('a parent path is not a directory', err)
    throw fail(fsProblem(err), err)
  }
  try {
    const st = await stat(paths.root)
    if (!st.isDirectory()) throw fail('it exists and is not a directory', undefined)
    await access(paths.root, fsConstants.R_OK | fsConstants.W_OK | fsConstants.X_OK)
  } catch (err) {
    if (err instanceof MeshError) throw err
    throw fail(fsProblem(err), err)
  }
  return paths
}

/**
 * `mkdir -p`. Not `mkdir(…, { recursive: true })`: on a file system whose mkdir says ENOENT while
 * the parent exists (/proc, some FUSE mounts) Node's version retries forever. An existing path is
 * fine here; the caller checks it is a folder.
 */
async function mkdirs (dir: string, mode: number): Promise<void> {
  try {
    await mkdir(dir, { mode })
    return
  } catch (err) {
    if (errnoCode(err) === 'EEXIST') return
    const parent = dirname(dir)
    if (errnoCode(err) !== 'ENOENT' || parent === dir) throw err
  }
  await mkdirs(dirname(dir), mode)
  try {
    await mkdir(dir, { mode })
  } catch (err) {
    // created meanwhile by someone else: fine; any other failure is final (no second retry)
    if (errnoCode(err) !== 'EEXIST') throw err
  }
}

export interface WriteAtomicOptions {
  /** file mode; default 0600 (everything in a home is private to its owner) */
  mode?: number
  /** when true, an existing file is left alone and the call returns false */
  exclusive?: boolean
}

/**
 * Writes `data` to `path` so that readers (and a crash) see either the old file or the whole new
 * one: write a temp file in the same folder, fsync, then rename over (or, when `exclusive`, hard-link
 * into place, which fails atomically if the name is taken). Returns false only when `exclusive` and
 * the file exists. Other failures are a MeshError naming the file.
 */
export async function writeFileAtomic (path: string, data: Uint8Array | string, options: WriteAtomicOptions = {}): Promise<boolean> {
  const mode = options.mode ?? 0o600
  const dir = dirname(path)
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`)
  let placed = false
  try {
    const fh = await open(tmp, 'wx', mode)
    try {
      // open()'s mode is filtered by the umask; set it exactly
      await fh.chmod(mode)
      await fh.writeFile(data)
      await fh.sync()
    } finally {
      await fh.close()
    }
    if (options.exclusive === true) {
      try {
        await link(tmp, path)
      } catch (err) {
        if (errnoCode(err) === 'EEXIST') return false
        throw err
      }
    } else {
      await rename(tmp, path)
      placed = true
    }
    await syncDir(dir)
    return true
  } catch (err) {
    throw new MeshError(`cannot write ${path}: ${fsProblem(err)}`, 1, { cause: err })
  } finally {
    if (!placed) await unlink(tmp).catch(() => {})
  }
}

/** Makes a rename durable; some file systems cannot fsync a folder, which is no reason to fail. */
async function syncDir (dir: string): Promise<void> {
  try {
    const fh = await open(dir, 'r')
    try { await fh.sync() } finally { await fh.close() }
  } catch {}
}

export function errnoCode (err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string') return err.code
  return undefined
}

/** One lower-case phrase for a file-system error, for messages like "cannot read X: <phrase>". */
export function fsProblem (err: unknown): string {
  switch (errnoCode(err)) {
    case 'EACCES':
    case 'EPERM': return 'permission denied'
    case 'ENOENT': return 'no such file or directory'
    case 'ENOTDIR': return 'a parent path is not a directory'
    case 'EISDIR': return 'is a directory'
    case 'EEXIST': return 'already exists'
    case 'EROFS': return 'read-only file system'
    case 'ENOSPC': return 'no space left on device'
    case 'EDQUOT': return 'disk quota exceeded'
    case 'ELOOP': return 'too many levels of symbolic links'
    case 'ENAMETOOLONG': return 'file name too long'
    case 'EIO': return 'input/output error'
    default: return err instanceof Error ? err.message : String(err)
  }
}
