import { spawn } from 'node:child_process'
import { openSync, closeSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { MeshError } from '../errors.js'
import { homePaths } from '../node/home.js'
import type { NodeInfo } from '../node/views.js'

const READY_TIMEOUT_MS = 60_000

type ChildMessage = { type: 'ready', info: NodeInfo } | { type: 'error', message: string, exitCode: number }

/**
 * `mesh start --detach`: re-runs `mesh start` (without --detach) as a session leader whose stdout and
 * stderr go to daemon.log, and waits on an IPC channel until it reports ready or why it failed.
 */
export async function startDetached (home: string, args: string[]): Promise<NodeInfo> {
  const paths = homePaths(home)
  const logFd = openSync(paths.log, 'a', 0o600)
  const main = fileURLToPath(new URL('./main.js', import.meta.url))
  const child = spawn(process.execPath, [main, ...withHome(args, home)], {
    detached: true,
    stdio: ['ignore', logFd, logFd, 'ipc'],
    env: process.env
  })
  closeSync(logFd)
  try {
    return await new Promise<NodeInfo>((resolve, reject) => {
      const timer = setTimeout(() => { reject(new MeshError(`daemon did not become ready within ${READY_TIMEOUT_MS / 1000} s; see ${paths.log}`)) }, READY_TIMEOUT_MS)
      child.once('message', (msg: ChildMessage) => {
        clearTimeout(timer)
        if (msg.type === 'ready') resolve(msg.info)
        else reject(new MeshError(msg.message, msg.exitCode))
      })
      child.once('exit', code => {
        clearTimeout(timer)
        reject(new MeshError(`daemon exited with code ${code ?? 'null'} before it was ready; see ${paths.log}`))
      })
    })
  } finally {
    child.removeAllListeners()
    if (child.connected) child.disconnect()
    child.unref()
  }
}

function withHome (args: string[], home: string): string[] {
  // the child must use the same home even when it came from $MESH_HOME or the default
  const out: string[] = []
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string
    if (a === '--home') { i++; continue }
    if (a.startsWith('--home=')) continue
    out.push(a)
  }
  return [...out, '--home', home]
}
