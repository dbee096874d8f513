import { spawn } from 'node:child_process'
import { setTimeout as sleep } from 'node:timers/promises'
import { openSync, closeSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { MeshError } from '../errors.js'
import { signalGroup } from '../exec/process/group.js'
import { ensureHome } from '../node/home.js'
import type { NodeInfo } from '../node/views.js'
import { DAEMON_NODE_FLAGS } from './node-flags.js'

const READY_TIMEOUT_MS = 60_000
/** a daemon given up on gets this long to end after SIGTERM, then SIGKILL */
const STOP_GRACE_MS = 5_000

type ChildMessage = { type: 'ready', info: NodeInfo } | { type: 'error', message: string, exitCode: number }

/**
 * `mesh start --detach`: re-runs `mesh start` (without --detach) as a session leader whose stdout and
 * stderr go to daemon.log, and waits on an IPC channel until it reports ready or why it failed.
 */
export async function startDetached (home: string, args: string[], opts: { readyTimeoutMs?: number } = {}): Promise<NodeInfo> {
  const readyTimeoutMs = opts.readyTimeoutMs ?? READY_TIMEOUT_MS
  // the log lives in the home: create it (0700) first, as the daemon itself would, and say in one
  // line why a home cannot be used
  const paths = await ensureHome(home)
  const logFd = openSync(paths.log, 'a', 0o600)
  const main = fileURLToPath(new URL('./main.js', import.meta.url))
  const child = spawn(process.execPath, [...DAEMON_NODE_FLAGS, main, ...withHome(args, home)], {
    detached: true,
    stdio: ['ignore', logFd, logFd, 'ipc'],
    env: process.env
  })
  closeSync(logFd)
  let gaveUp = false
  try {
    return await new Promise<NodeInfo>((resolve, reject) => {
      const timer = setTimeout(() => {
        gaveUp = true
        reject(new MeshError(`daemon did not become ready within ${readyTimeoutMs / 1000} s and was stopped; see ${paths.log}`))
      }, readyTimeoutMs)
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
    // a daemon we report as not started must not go on starting unseen (and crash later on the
    // closed channel when it reports ready)
    if (gaveUp) await stopGroup(child)
    child.removeAllListeners()
    if (child.connected) child.disconnect()
    child.unref()
  }
}

async function stopGroup (child: ReturnType<typeof spawn>): Promise<void> {
  const pid = child.pid
  if (pid == null || child.exitCode != null || child.signalCode != null) return
  const exited = new Promise<void>(resolve => { child.once('exit', () => { resolve() }) })
  // its own process group: detached made it a session leader
  if (!signalGroup(pid, 'SIGTERM')) return
  if (await Promise.race([exited.then(() => true), sleep(STOP_GRACE_MS, false)])) return
  signalGroup(pid, 'SIGKILL')
  await exited
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
