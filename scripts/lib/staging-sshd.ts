/**
 * OpenSSH servers inside the hosts of a multi-host lab (scripts/lib/netns.ts), for baselines
 * (`scp`, `pdcp`, `rsync`) measured on the same hosts as the mesh. One per-run host key, one client
 * key, key-only root login; the hardened settings of scripts/lib/sshd.ts.
 *
 * Every namespace shares the machine's file system, so `pdcp file /dest` to ten hosts would write
 * one file ten times. Each sshd therefore runs in its own mount namespace (`unshare --mount`) in
 * which a per-host folder is bind-mounted over one shared path: the same remote path is a
 * different folder on every host, as on real machines, and the benchmark can check each copy.
 *
 *   ip netns exec NS unshare --mount --propagation private \
 *     sh -c 'mount --bind DIR/destK DIR/dest && exec /usr/sbin/sshd -D -e -f CONFIG …'
 */
import { execFile, spawn } from 'node:child_process'
import { closeSync, existsSync, mkdirSync, openSync, readFileSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { setTimeout as sleep } from 'node:timers/promises'
import { killGroup, run, waitGone } from './proc.js'
import { SSHD, childrenOf, sshProblem } from './sshd.js'
import type { Reaper } from './proc.js'
import type { NetHost } from './netns.js'

const execFileP = promisify(execFile)

export interface LabSsh {
  /** client config (`ssh -F`, `scp -F`, PDSH_SSH_ARGS, `rsync -e`) */
  config: string
  /** the path that is a per-host folder inside every sshd's sessions */
  dest: string
  /** host → the folder behind `dest` on that host, as the root file system sees it */
  destOf: (h: NetHost) => string
  stop: () => Promise<void>
}

/** Installs what is missing with apt-get (one try); returns a one-line reason when still missing. */
export async function ensureSshTools (tools: Array<{ bin: string, pkg: string }>): Promise<string | undefined> {
  const missing = tools.filter(t => !existsSync(t.bin))
  if (missing.length === 0) return undefined
  const pkgs = [...new Set(missing.map(t => t.pkg))]
  console.log(`installing ${pkgs.join(' ')} with apt-get…`)
  const r = await run('apt-get', ['install', '-y', '--no-install-recommends', ...pkgs], { env: { DEBIAN_FRONTEND: 'noninteractive' }, timeoutMs: 300_000 }).catch((err: unknown) => ({ code: 1, stderr: String(err) }))
  const still = tools.filter(t => !existsSync(t.bin))
  if (still.length === 0) return undefined
  return `missing ${still.map(t => t.bin).join(', ')} and 'apt-get install -y ${pkgs.join(' ')}' failed (${r.code ?? '?'}): ${r.stderr.trim().split('\n').at(-1) ?? ''}`
}

/** Starts one sshd per host (port 22 on the host's IP) and waits until `ssh host true` works from `from`. */
export async function startLabSshd (dir: string, hosts: NetHost[], from: NetHost, reaper: Reaper): Promise<LabSsh> {
  const problem = sshProblem()
  if (problem != null) throw new Error(problem)
  mkdirSync(dir, { recursive: true, mode: 0o700 })
  const hostKey = join(dir, 'ssh_host_ed25519_key')
  const clientKey = join(dir, 'client_ed25519')
  const authorized = join(dir, 'authorized_keys')
  await execFileP('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'mesh-bench-host', '-f', hostKey])
  await execFileP('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'mesh-bench-client', '-f', clientKey])
  await writeFile(authorized, readFileSync(`${clientKey}.pub`, 'utf8'), { mode: 0o600 })
  if (!existsSync('/run/sshd')) mkdirSync('/run/sshd', { recursive: true, mode: 0o755 })
  const dest = join(dir, 'dest')
  mkdirSync(dest, { recursive: true })
  const destOf = (h: NetHost): string => join(dir, `dest-${h.name}`)
  const sshdConfig = join(dir, 'sshd_config')
  await writeFile(sshdConfig, [
    'Port 22',
    `HostKey ${hostKey}`,
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
    'Subsystem sftp internal-sftp',
    // see scripts/lib/sshd.ts: keeps root's ~/.bashrc (pyenv init, 0.2–0.5 s) out of the baseline
    'SetEnv SHLVL=1',
    ''
  ].join('\n'), { mode: 0o600 })
  const config = join(dir, 'ssh_config')
  await writeFile(config, [
    'Host *',
    '  User root',
    `  IdentityFile ${clientKey}`,
    '  IdentitiesOnly yes',
    '  StrictHostKeyChecking no',
    '  UserKnownHostsFile /dev/null',
    '  BatchMode yes',
    '  LogLevel ERROR',
    '  ConnectTimeout 10',
    ''
  ].join('\n'), { mode: 0o600 })

  const pids: number[] = []
  for (const h of hosts) {
    mkdirSync(destOf(h), { recursive: true })
    const log = openSync(join(dir, `sshd-${h.name}.log`), 'a', 0o600)
    const script = `mount --bind '${destOf(h)}' '${dest}' && exec ${SSHD} -D -e -f '${sshdConfig}' -o 'PidFile=${join(dir, `sshd-${h.name}.pid`)}' -o 'ListenAddress=${h.ip}'`
    const proc = spawn('ip', ['netns', 'exec', h.ns, 'unshare', '--mount', '--propagation', 'private', 'sh', '-c', script], { stdio: ['ignore', log, log], detached: true })
    closeSync(log)
    if (proc.pid == null) throw new Error(`cannot start sshd in ${h.ns}`)
    const pid = proc.pid
    pids.push(pid)
    reaper.track(pid)
    proc.once('exit', () => { reaper.untrack(pid) })
  }
  let stopped: Promise<void> | undefined
  const stop = async (): Promise<void> => {
    stopped ??= (async () => {
      for (const pid of pids) {
        for (const c of childrenOf(pid)) { try { process.kill(c, 'SIGTERM') } catch { /* gone */ } }
        killGroup(pid, 'SIGTERM')
      }
      for (const pid of pids) if (!await waitGone(pid, 5_000)) killGroup(pid, 'SIGKILL')
    })()
    return stopped
  }
  reaper.onCleanup(stop)
  process.once('exit', () => { for (const pid of pids) killGroup(pid, 'SIGKILL') })

  const deadline = Date.now() + 30_000
  const pending = new Set(hosts)
  let last = ''
  while (pending.size > 0 && Date.now() < deadline) {
    for (const h of [...pending]) {
      const r = await run('ip', ['netns', 'exec', from.ns, 'ssh', '-F', config, h.ip, `test -d '${dest}' && touch '${dest}/.probe'`], { reaper, timeoutMs: 15_000 })
      if (r.code === 0 && existsSync(join(destOf(h), '.probe'))) pending.delete(h)
      else last = `${h.name}: ${r.stderr.trim() || `exit ${r.code ?? '?'}`}`
    }
    if (pending.size > 0) await sleep(300)
  }
  if (pending.size > 0) {
    await stop()
    throw new Error(`sshd did not let ssh in on ${[...pending].map(h => h.name).join(', ')} (${last})`)
  }
  return { config, dest, destOf, stop }
}
