/**
 * pdsh-style output for --all: every line prefixed with the runner's name. Chunks arrive split
 * anywhere, so partial lines are held per (task, stream) until their newline or the end.
 */
export class LinePrefixer {
  private readonly pending = new Map<string, string>()

  push (key: string, prefix: string, text: string): string {
    const buffered = (this.pending.get(key) ?? '') + text
    const cut = buffered.lastIndexOf('\n')
    if (cut < 0) {
      this.pending.set(key, buffered)
      return ''
    }
    this.pending.set(key, buffered.slice(cut + 1))
    return buffered.slice(0, cut + 1).split('\n').slice(0, -1).map(l => `${prefix}: ${l}\n`).join('')
  }

  flush (key: string, prefix: string): string {
    const rest = this.pending.get(key) ?? ''
    this.pending.delete(key)
    return rest === '' ? '' : `${prefix}: ${rest}\n`
  }
}
