/** Where a command writes; injected so tests capture output without spawning a process. */
export interface Output {
  /** a line (a newline is added when missing) */
  out: (text: string) => void
  err: (text: string) => void
  /** bytes as they are: a task's output */
  write: (stream: 'stdout' | 'stderr', data: Uint8Array) => void
}

export function processOutput (): Output {
  return {
    out: text => { process.stdout.write(text.endsWith('\n') ? text : text + '\n') },
    err: text => { process.stderr.write(text.endsWith('\n') ? text : text + '\n') },
    write: (stream, data) => { (stream === 'stdout' ? process.stdout : process.stderr).write(data) }
  }
}

/** Options every command takes. */
export interface GlobalOptions {
  home?: string
}

export function json (value: unknown): string {
  return JSON.stringify(value, null, 2)
}
