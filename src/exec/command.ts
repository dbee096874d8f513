/**
 * The task's own argv, before any wrapper (numactl, systemd-run, a container runtime) is put in
 * front. Pure; throws a non-retryable LaunchError for a command no executor could run.
 */
import { NUMACTL, SHELL } from './constants.js'
import { LaunchError } from './errors.js'
import type { LaunchSpec } from './index.js'

function checkArg (arg: string, what: string): void {
  // execve cannot pass a NUL byte; Node would throw synchronously deep inside spawn.
  if (arg.includes('\0')) throw new LaunchError(`${what} contains a NUL byte`, false)
}

/**
 * argv as given (no shell: `$(...)`, `;`, globs stay literal), or `/bin/sh -c command` for a shell
 * command. An argv with `shell: true` is joined with spaces, as `child_process` does.
 */
export function taskArgv (spec: Pick<LaunchSpec, 'command' | 'shell'>): string[] {
  const { command, shell } = spec
  if (typeof command === 'string') {
    if (!shell) throw new LaunchError('a string command needs "shell": true (or give an argv array)', false)
    if (command.trim() === '') throw new LaunchError('command is empty', false)
    checkArg(command, 'command')
    return [SHELL, '-c', command]
  }
  const first = command[0]
  if (first === undefined || first === '') throw new LaunchError('command is empty', false)
  command.forEach((arg, i) => { checkArg(arg, `command[${i}]`) })
  return shell ? [SHELL, '-c', command.join(' ')] : [...command]
}

/** Whether the task is to be bound with numactl: a node was chosen and the host has numactl. */
export function bindsWithNumactl (spec: Pick<LaunchSpec, 'numaNode' | 'numactl'>): spec is { numaNode: number, numactl: true } {
  return spec.numaNode !== null && spec.numactl
}

/** `numactl --cpunodebind=N --membind=N --`: CPUs and memory of one node, nothing else. */
export function numactlPrefix (node: number): string[] {
  checkNumaNode(node)
  return [NUMACTL, `--cpunodebind=${node}`, `--membind=${node}`, '--']
}

export function checkNumaNode (node: number): void {
  if (!Number.isSafeInteger(node) || node < 0) throw new LaunchError(`invalid NUMA node ${node}`, false)
}
