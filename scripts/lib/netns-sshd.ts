/**
 * OpenSSH servers inside the hosts of a multi-host lab (scripts/lib/netns.ts), for the ssh, pdsh and
 * Ansible baselines: one host key and one client key per run, a known_hosts file that pins that host
 * key for every lab address, and per host `ip netns exec NS /usr/sbin/sshd -D -f CONFIG` listening
 * on the host's IP, port 22, root by key only (the hardened config of scripts/lib/sshd.ts).
 *
 * Every server runs in the foreground as the leader of its own process group; `stop()` ends its
 * per-connection children (they setsid) and the server, and the lab's teardown kills whatever is
 * left in the namespaces anyway.
 */
import { execFile, spawn } from 'node:child_process'
import { closeSync, existsSync, mkdirSync, openSync, readFileSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { setTimeout as sleep } from 'node:timers/promises'
import { alive, killGroup, run, waitGone } from './proc.js'
import { SSHD, childrenOf } from './sshd.js'
import type { NetHost } from './netns.js'
import type { Reaper } from './proc.js'

const execFileP = promisify(execFile)

export interface LabSshKeys {
  dir: string
  hostKey: string
  clientKey: string
  authorized: string
  knownHosts: string
}

/** A per-run host key (shared by the lab's servers), a client key, authorized_keys and known_hosts for `pattern` (e.g. 10.213.0.*). */
export async function labSshKeys (dir: string, pattern: string): Promise<LabSshKeys> {
  mkdirSync(dir, { recursive: true, mode: 0o700 })
  const hostKey = join(dir, 'ssh_host_ed25519_key')
  const clientKey = join(dir, 'client_ed25519')
  const authorized = join(dir, 'authorized_keys')
  const knownHosts = join(dir, 'known_hosts')
  await execFileP('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'mesh-bench-lab-host', '-f', hostKey])
  await execFileP('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'mesh-bench-lab-client', '-f', clientKey])
  await writeFile(authorized, readFileSync(`${clientKey}.pub`, 'utf8'), { mode: 0o600 })
  const pub = readFileSync(`${hostKey}.pub`, 'utf8').trim().split(' ').slice(0, 2).join(' ')
  await writeFile(knownHosts, `${pattern} ${pub}\n`, { mode: 0o600 })
  return { dir, hostKey, clientKey, authorized, knownHosts }
}

/**
 * ssh options (no host, no command) that use the run's keys with strict host key checking (unless
 * `strict: false`, for a tool that sets its own); the same list goes to ssh, pdsh
 * (PDSH_SSH_ARGS_APPEND) and Ansible (ansible_ssh_common_args).
 */
export function labSshOptions (keys: LabSshKeys, extra: string[] = [], { strict = true } = {}): string[] {
  return [
    '-F', '/dev/null',
    '-i', keys.clientKey,
    '-o', 'IdentitiesOnly=yes',
    '-o', `UserKnownHostsFile=${keys.knownHosts}`,
    ...(strict ? ['-o', 'StrictHostKeyChecking=yes'] : []),
    '-o', 'BatchMode=yes',
    '-o', 'LogLevel=ERROR',
    '-o', 'ConnectTimeout=10',
    ...extra
  ]
}

export interface LabSshd {
  host: NetHost
  pid: number
  stop: () => Promise<void>
}

/** Starts `sshd -D` in the host's namespace on HOST_IP:22 and waits until `ssh root@IP true` from `fromNs` works. */
export async function startLabSshd (host: NetHost, keys: LabSshKeys, fromNs: string, reaper: Reaper): Promise<LabSshd> {
  if (!existsSync('/run/sshd')) mkdirSync('/run/sshd', { recursive: true, mode: 0o755 })
  const config = join(keys.dir, `sshd_config.${host.name}`)
  await writeFile(config, [
    `ListenAddress ${host.ip}`,
    'Port 22',
    `HostKey ${keys.hostKey}`,
    `PidFile ${join(keys.dir, `sshd.${host.name}.pid`)}`,
    `AuthorizedKeysFile ${keys.authorized}`,
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
    // see scripts/lib/sshd.ts: keeps bash from sourcing root's ~/.bashrc for the remote command
    'SetEnv SHLVL=1',
    ''
  ].join('\n'), { mode: 0o600 })
  const logFd = openSync(join(keys.dir, `sshd.${host.name}.log`), 'a', 0o600)
  // `ip netns exec` enters the namespace and execs sshd: same pid, leader of the group we create
  const proc = spawn('ip', ['netns', 'exec', host.ns, SSHD, '-D', '-e', '-f', config], { stdio: ['ignore', logFd, logFd], detached: true })
  closeSync(logFd)
  const pid = proc.pid
  if (pid == null) throw new Error(`${host.name}: cannot spawn sshd`)
  reaper.track(pid)
  proc.once('exit', () => { reaper.untrack(pid) })
  let stopped: Promise<void> | undefined
  const stop = async (): Promise<void> => {
    stopped ??= (async () => {
      for (const c of childrenOf(pid)) { try { process.kill(c, 'SIGTERM') } catch { /* gone */ } }
      killGroup(pid, 'SIGTERM')
      if (!await waitGone(pid, 5_000)) killGroup(pid, 'SIGKILL')
      reaper.untrack(pid)
    })()
    return stopped
  }
  process.once('exit', () => { if (alive(pid)) killGroup(pid, 'SIGKILL') })
  reaper.onCleanup(stop)
  const deadline = Date.now() + 20_000
  let last = ''
  while (Date.now() < deadline) {
    if (proc.exitCode != null) break
    const r = await run('nsenter', [`--net=/run/netns/${fromNs}`, 'ssh', ...labSshOptions(keys), `root@${host.ip}`, 'true'], { reaper, timeoutMs: 15_000 })
    if (r.code === 0) return { host, pid, stop }
    last = r.stderr.trim()
    await sleep(200)
  }
  await stop()
  throw new Error(`${host.name}: sshd on ${host.ip}:22 did not let 'ssh root@${host.ip} true' in: ${last || `sshd exited with ${proc.exitCode ?? '?'}`}`)
}

export interface LabSshMaster {
  /** ssh options (no host) that multiplex over the master connection */
  clientArgs: () => string[]
  stop: () => Promise<void>
}

/**
 * One persistent authenticated connection from `fromNs` to root@IP (`ssh -M -N` in the foreground,
 * its own process group: what ControlPersist keeps, and still ours to stop).
 */
export async function startLabMaster (keys: LabSshKeys, fromNs: string, ip: string, reaper: Reaper): Promise<LabSshMaster> {
  const socket = join(keys.dir, `cm-${ip}.sock`)
  const master = spawn('nsenter', [`--net=/run/netns/${fromNs}`, 'ssh', ...labSshOptions(keys, ['-M', '-N', '-o', `ControlPath=${socket}`]), `root@${ip}`], { stdio: ['ignore', 'ignore', 'pipe'], detached: true })
  let stderr = ''
  master.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
  const pid = master.pid
  if (pid == null) throw new Error('cannot spawn the ssh master')
  reaper.track(pid)
  master.once('exit', () => { reaper.untrack(pid) })
  const clientArgs = (): string[] => labSshOptions(keys, ['-o', 'ControlMaster=no', '-o', `ControlPath=${socket}`])
  let stopped: Promise<void> | undefined
  const stop = async (): Promise<void> => {
    stopped ??= (async () => {
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
      // -O check talks to the socket only: no namespace needed
      const check = await run('ssh', [...clientArgs(), '-O', 'check', `root@${ip}`], { reaper, timeoutMs: 5_000 })
      if (check.code === 0) return { clientArgs, stop }
    }
    await sleep(100)
  }
  await stop()
  throw new Error(`the ssh ControlMaster to ${ip} did not come up: ${stderr.trim() || `exit ${master.exitCode ?? '?'}`}`)
}
