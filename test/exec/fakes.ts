import type { HostProbe, ProbeResult } from '../../src/exec/index.js'

export interface FakeHost {
  /** programs on PATH */
  programs?: string[]
  /** paths that exist */
  paths?: string[]
  files?: Record<string, string>
  /** `${file} ${args.join(' ')}` → result */
  commands?: Record<string, Partial<ProbeResult>>
}

/** A HostProbe answering from plain data; `calls` records every command run. */
export function fakeProbe (host: FakeHost): HostProbe & { calls: string[] } {
  const calls: string[] = []
  return {
    calls,
    which: async (name) => host.programs?.includes(name) === true ? `/usr/bin/${name}` : undefined,
    exists: async (path) => host.paths?.includes(path) === true,
    readFile: async (path) => host.files?.[path],
    run: async (file, args) => {
      const line = [file, ...args].join(' ')
      calls.push(line)
      const result = host.commands?.[line]
      return result === undefined
        ? { code: null, stdout: '', stderr: '', error: 'ENOENT' }
        : { code: 0, stdout: '', stderr: '', ...result }
    }
  }
}
