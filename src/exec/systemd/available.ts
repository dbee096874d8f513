/**
 * Whether transient scopes can be created here: systemd-run on PATH, systemd booted as PID 1
 * (sd_booted: /run/systemd/system exists), and the manager answering `is-system-running`.
 */
import { SYSTEMCTL, SYSTEMD_RUN, SYSTEMD_RUNTIME_DIR } from '../constants.js'
import type { Availability } from '../index.js'
import { firstLine } from '../probe.js'
import type { HostProbe } from '../probe.js'

/** Manager states in which a scope can be started (`degraded`: some unit failed, still usable). */
const USABLE_STATES = new Set(['running', 'degraded', 'starting', 'initializing'])

export async function systemdAvailability (probe: HostProbe, opts: { user: boolean, timeoutMs: number }): Promise<Availability> {
  if (await probe.which(SYSTEMD_RUN) === undefined) {
    return { ok: false, reason: `${SYSTEMD_RUN} is not on PATH` }
  }
  if (!await probe.exists(SYSTEMD_RUNTIME_DIR)) {
    const pid1 = (await probe.readFile('/proc/1/comm'))?.trim()
    const who = pid1 === undefined || pid1 === '' ? '' : ` (PID 1 is ${pid1})`
    return { ok: false, reason: `systemd is not the init system${who}: ${SYSTEMD_RUNTIME_DIR} is missing` }
  }
  const args = [...(opts.user ? ['--user'] : []), 'is-system-running']
  const result = await probe.run(SYSTEMCTL, args, opts.timeoutMs)
  const state = result.stdout.trim().split('\n')[0]?.trim() ?? ''
  if (USABLE_STATES.has(state)) return { ok: true }
  const said = state !== '' ? state : result.error ?? `exit code ${result.code ?? 'none'}`
  const detail = firstLine(result)
  const manager = opts.user ? 'the user systemd manager' : 'systemd'
  return { ok: false, reason: `${manager} is not usable: \`${SYSTEMCTL} ${args.join(' ')}\` says ${said}${detail !== '' && detail !== state ? ` (${detail})` : ''}` }
}
