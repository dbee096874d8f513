/** Where a command writes; injected so tests capture output without spawning a process. */
export interface Output {
  out: (text: string) => void
  err: (text: string) => void
}

export function processOutput (): Output {
  return {
    out: text => { process.stdout.write(text.endsWith('\n') ? text : text + '\n') },
    err: text => { process.stderr.write(text.endsWith('\n') ? text : text + '\n') }
  }
}

/** Options every command takes. */
export interface GlobalOptions {
  home?: string
}

export function json (value: unknown): string {
  return JSON.stringify(value, null, 2)
}
