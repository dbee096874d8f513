/**
 * `mesh init` (and the implicit init of a first `mesh start`): make a home usable. Idempotent:
 * running it again keeps the key (so the peer id), keeps the config except for the fields the
 * caller passes, and only replaces the key with `force`.
 *
 * Inputs are checked before anything is written, so a bad swarm key or config leaves the home as
 * it was.
 */
import { lstat, readFile } from 'node:fs/promises'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { MeshError } from '../errors.js'
import { loadConfig, saveConfig, validateConfig } from './config.js'
import type { MeshConfig } from './config.js'
import { ensureHome, errnoCode, fsProblem } from './home.js'
import type { HomePaths } from './home.js'
import { createKey, loadOrCreateKey } from './keys.js'
import { installSwarmKey, parseSwarmKey } from './swarm-key.js'

export interface InitOptions {
  home: string
  /** replaces the config's tags when given (already parsed, e.g. by parseTags) */
  tags?: string[]
  /** a swarm.key file to copy into the home */
  swarmKeyFile?: string
  /** replace an existing node key (new peer id) */
  force?: boolean
  /** replaces the config's name when given */
  name?: string
}

export interface InitResult {
  paths: HomePaths
  peerId: string
  createdKey: boolean
  config: MeshConfig
}

export async function initHome (opts: InitOptions): Promise<InitResult> {
  if (opts.swarmKeyFile != null) await checkSwarmKeyFile(opts.swarmKeyFile)
  const paths = await ensureHome(opts.home)

  const configExists = await exists(paths.config)
  const current = await loadConfig(paths.config)
  const config = validateConfig({
    ...current,
    ...(opts.tags != null ? { tags: opts.tags } : {}),
    ...(opts.name != null ? { name: opts.name } : {})
  }, paths.config)

  const { key, created } = opts.force === true
    ? { key: await createKey(paths.key, { force: true }), created: true }
    : await loadOrCreateKey(paths.key)

  if (!configExists || JSON.stringify(config) !== JSON.stringify(current)) await saveConfig(paths.config, config)
  if (opts.swarmKeyFile != null) await installSwarmKey(opts.swarmKeyFile, paths.swarmKey)

  return { paths, peerId: peerIdFromPrivateKey(key).toString(), createdKey: created, config }
}

async function checkSwarmKeyFile (path: string): Promise<void> {
  let bytes: Uint8Array
  try {
    bytes = await readFile(path)
  } catch (err) {
    throw new MeshError(`--swarm-key: cannot read ${path}: ${fsProblem(err)}`, 1, { cause: err })
  }
  parseSwarmKey(bytes, path)
}

async function exists (path: string): Promise<boolean> {
  try {
    await lstat(path)
    return true
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return false
    throw new MeshError(`cannot read ${path}: ${fsProblem(err)}`, 1, { cause: err })
  }
}
