/**
 * A throw-away OpenSSH server on 127.0.0.1 for baselines: its own host key, config, authorized_keys
 * and pid file in a temp folder, a fresh ed25519 client key, `sshd -D` in the foreground as the
 * leader of its own process group. Also a ControlMaster connection (the ControlPersist case: later
 * `ssh` calls reuse one authenticated connection). Everything it starts is stopped by `stop()`,
 * by the Reaper's cleanup, or — last resort — synchronously when the script exits.
 */
import { execFile, spawn } from 'node:child_process'
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { setTimeout as sleep } from 'node:timers/promises'
import { alive, killGroup, run, waitGone } from './proc.js'
import type { Reaper, RunResult } from './proc.js'

const execFileP = promisify(execFile)

export const SSHD = '/usr/sbin/sshd'

/** why the ssh baseline cannot run here, or undefined when it can */
export function sshProblem (): string | undefined {
  if (!existsSync(SSHD)) return `${SSHD} is missing (apt-get install -y openssh-server)`
  for (const tool of ['/usr/bin/ssh', '/usr/bin/ssh-keygen']) {
    if (!existsSync(tool)) return `${tool} is missing (apt-get install -y openssh-client)`
  }
  return undefined
}

/** a TCP port on 127.0.0.1 that was free a moment ago */
export async function freePort (): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer()
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address()
      const port = typeof addr === 'object' && addr != null ? addr.port : 0
      srv.close(() => { resolve(port) })
    })
  })
}

/** pids whose parent is `ppid` (from /proc/PID/stat) */
export function childrenOf (ppid: number): number[] {
  const out: number[] = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
      // field 4 (ppid) comes after the command name, which may hold spaces and parentheses
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      if (Number(fields[1]) === ppid) out.push(Number(entry))
    } catch { /* gone meanwhile */ }
  }
  return out
}

function killPid (pid: number, signal: NodeJS.Signals): void {
  try { process.kill(pid, signal) } catch { /* gone */ }
}

export interface Sshd {
  port: number
  pid: number
  dir: string
  /** `ssh` arguments up to (not including) the remote command: key, port, no host key checks */
  clientArgs: (extra?: string[]) => string[]
  /** stops the connection children, then the server; idempotent */
  stop: () => Promise<void>
}

export interface SshdOptions {
  /** an empty folder for keys, config and logs */
  dir: string
  reaper: Reaper
  port?: number
  readyTimeoutMs?: number
}

/** Starts `sshd -D` on 127.0.0.1 and waits until `ssh … true` succeeds through it. */
export async function startSshd (opts: SshdOptions): Promise<Sshd> {
  const problem = sshProblem()
  if (problem != null) throw new Error(problem)
  const { dir, reaper } = opts
  const hostKey = join(dir, 'ssh_host_ed25519_key')
  const clientKey = join(dir, 'client_ed25519')
  const authorized = join(dir, 'authorized_keys')
  await execFileP('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'mesh-bench-host', '-f', hostKey])
  await execFileP('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'mesh-bench-client', '-f', clientKey])
  await writeFile(authorized, readFileSync(`${clientKey}.pub`, 'utf8'), { mode: 0o600 })
  // privilege separation needs this folder; a package install without a running service lacks it
  if (!existsSync('/run/sshd')) mkdirSync('/run/sshd', { recursive: true, mode: 0o755 })
  const port = opts.port ?? await freePort()
  const config = join(dir, 'sshd_config')
  await writeFile(config, [
    'ListenAddress 127.0.0.1',
    `Port ${port}`,
    `HostKey ${hostKey}`,
    `PidFile ${join(dir, 'sshd.pid')}`,
    `AuthorizedKeysFile ${authorized}`,
    'StrictModes no',
    'PubkeyAuthentication yes',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'PermitRootLogin prohibit-password',
    'UsePAM no',
    'UseDNS no',
    'PrintMotd no',
    'PrintLastLog no',
    'MaxStartups 100:30:200',
    'MaxSessions 100',
    'LogLevel ERROR',
    // bash sources ~/.bashrc for a command sshd runs when it is a top-level shell (SHLVL unset);
    // with SHLVL=1 it is not: the baseline measures ssh, not the account's rc file (root's here
    // runs `pyenv init`, 0.2–0.5 s)
    'SetEnv SHLVL=1',
    ''
  ].join('\n'), { mode: 0o600 })

  const logFile = join(dir, 'sshd.log')
  const logFd = openSync(logFile, 'a', 0o600)
  const proc = spawn(SSHD, ['-D', '-e', '-f', config, '-p', String(port), '-h', hostKey], { stdio: ['ignore', logFd, logFd], detached: true })
  closeSync(logFd)
  const pid = proc.pid
  if (pid == null) throw new Error('cannot spawn sshd')
  reaper.track(pid)
  proc.once('exit', () => { reaper.untrack(pid) })

  let stopped: Promise<void> | undefined
  const stop = async (): Promise<void> => {
    stopped ??= (async () => {
      // per-connection children call setsid(): they are not in the server's group
      for (const c of childrenOf(pid)) killPid(c, 'SIGTERM')
      killGroup(pid, 'SIGTERM')
      if (!await waitGone(pid, 5_000)) killGroup(pid, 'SIGKILL')
      await waitGone(pid, 2_000)
      reaper.untrack(pid)
    })()
    return stopped
  }
  // a plain process.exit skips the async cleanup: take the server and its children down anyway
  process.once('exit', () => {
    if (!alive(pid)) return
    for (const c of childrenOf(pid)) killPid(c, 'SIGKILL')
    killGroup(pid, 'SIGKILL')
  })
  reaper.onCleanup(stop)

  const clientArgs = (extra: string[] = []): string[] => [
    '-F', '/dev/null',
    '-i', clientKey,
    '-o', 'IdentitiesOnly=yes',
    '-o', 'StrictHostKeyChecking=no',
    '-o', 'UserKnownHostsFile=/dev/null',
    '-o', 'BatchMode=yes',
    '-o', 'LogLevel=ERROR',
    '-o', 'ConnectTimeout=10',
    ...extra,
    '-p', String(port),
    'root@127.0.0.1'
  ]

  const deadline = Date.now() + (opts.readyTimeoutMs ?? 15_000)
  let last: RunResult | undefined
  while (Date.now() < deadline) {
    if (proc.exitCode != null || proc.signalCode != null) break
    last = await run('ssh', [...clientArgs(), 'true'], { reaper, timeoutMs: 10_000 })
    if (last.code === 0) return { port, pid, dir, clientArgs, stop }
    await sleep(200)
  }
  await stop()
  const log = existsSync(logFile) ? readFileSync(logFile, 'utf8').trim().slice(-1000) : ''
  throw new Error(`sshd on 127.0.0.1:${port} did not let 'ssh … true' in: ${last?.stderr.trim() ?? 'no attempt'}${log !== '' ? `\nsshd log: ${log}` : ''}`)
}

export interface SshMaster {
  /** `ssh` arguments that reuse the master connection */
  clientArgs: (extra?: string[]) => string[]
  stop: () => Promise<void>
}

/**
 * One persistent authenticated connection (`ssh -M -N`, in the foreground as its own process
 * group: as persistent as ControlPersist makes a master, and still ours to stop); clients
 * given `clientArgs()` multiplex their sessions over it (`ControlMaster=no`, same ControlPath).
 */
export async function startSshMaster (sshd: Sshd, reaper: Reaper): Promise<SshMaster> {
  const socket = join(sshd.dir, 'cm.sock')
  // no ControlPersist option: it would daemonize the master out of our process group; a foreground
  // `-M -N` master is the same persistent connection, and ours to stop
  const master = spawn('ssh', [...sshd.clientArgs(['-M', '-N', '-o', `ControlPath=${socket}`])], { stdio: ['ignore', 'ignore', 'pipe'], detached: true })
  let stderr = ''
  master.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
  const pid = master.pid
  if (pid == null) throw new Error('cannot spawn the ssh master')
  reaper.track(pid)
  master.once('exit', () => { reaper.untrack(pid) })
  const clientArgs = (extra: string[] = []): string[] => sshd.clientArgs(['-o', 'ControlMaster=no', '-o', `ControlPath=${socket}`, ...extra])
  let stopped: Promise<void> | undefined
  const stop = async (): Promise<void> => {
    stopped ??= (async () => {
      if (existsSync(socket)) await run('ssh', [...clientArgs(), '-O', 'exit'], { timeoutMs: 5_000 }).catch(() => undefined)
      killGroup(pid, 'SIGTERM')
      if (!await waitGone(pid, 5_000)) killGroup(pid, 'SIGKILL')
      reaper.untrack(pid)
    })()
    return stopped
  }
  process.once('exit', () => { killGroup(pid, 'SIGKILL') })
  reaper.onCleanup(stop)
  const deadline = Date.now() + 15_000
  while (Date.now() < deadline) {
    if (master.exitCode != null) break
    if (existsSync(socket)) {
      const check = await run('ssh', [...clientArgs(), '-O', 'check'], { reaper, timeoutMs: 5_000 })
      if (check.code === 0) return { clientArgs, stop }
    }
    await sleep(100)
  }
  await stop()
  throw new Error(`the ssh ControlMaster did not come up: ${stderr.trim() || `exit ${master.exitCode ?? '?'}`}`)
}
