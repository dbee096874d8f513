/** Defaults and fixed numbers of the executors, resolved once by each executor's constructor. */

/** Time between SIGTERM and SIGKILL when a task is timed out, cancelled or shut down. */
export const DEFAULT_KILL_GRACE_MS = 5_000

/** Exit codes SPEC.md fixes for the result record (the same the CLI exits with). */
export const EXIT_CODE_TIMED_OUT = 124
export const EXIT_CODE_CANCELLED = 130
/** What sh, bash and docker report for a program that is missing / not executable. */
export const EXIT_CODE_NOT_FOUND = 127
export const EXIT_CODE_NOT_EXECUTABLE = 126

/** The only variables a task inherits from the daemon; everything else comes from the task file. */
export const SAFE_ENV_KEYS: readonly string[] = ['PATH', 'HOME', 'LANG', 'USER']
/** PATH for a task when the daemon has none. */
export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'

/** A string command (`"shell": true`) runs as `SHELL -c command`. */
export const SHELL = '/bin/sh'
export const NUMACTL = 'numactl'
export const SYSTEMD_RUN = 'systemd-run'
export const SYSTEMCTL = 'systemctl'
/** sd_booted(3): systemd is the init system when this directory exists. */
export const SYSTEMD_RUNTIME_DIR = '/run/systemd/system'

/** What `systemd-run --user` needs to reach the user manager; passed on only in user mode. */
export const SYSTEMD_USER_ENV_KEYS: readonly string[] = ['XDG_RUNTIME_DIR', 'DBUS_SESSION_BUS_ADDRESS']

/** Container runtimes, in the order `available()` tries them. */
export const CONTAINER_RUNTIMES = ['podman', 'docker'] as const
/** Where the task's work dir is mounted inside a container. */
export const CONTAINER_WORKDIR = '/work'
/**
 * Variables the container CLI itself needs to find its engine; they reach the CLI, never the
 * container (the container only gets the names passed with `-e`).
 */
export const CONTAINER_CLI_ENV_KEYS: readonly string[] = [
  'DOCKER_HOST', 'DOCKER_CONFIG', 'DOCKER_CONTEXT', 'DOCKER_CERT_PATH', 'DOCKER_TLS_VERIFY',
  'CONTAINER_HOST', 'CONTAINERS_CONF', 'XDG_RUNTIME_DIR'
]

/** `docker info`, `systemctl is-system-running`: a wedged engine must not hold up the daemon. */
export const PROBE_TIMEOUT_MS = 5_000
/** Probe output beyond this is cut off (only the first line ends up in a reason). */
export const PROBE_MAX_OUTPUT_BYTES = 64 * 1024

/** setTimeout fires at once for delays above 2^31-1 ms; longer timeouts are chained. */
export const MAX_TIMER_MS = 2_147_483_647

/** Prefix of systemd unit and container names: `mesh-<taskId>-<attempt>`. */
export const NAME_PREFIX = 'mesh'
