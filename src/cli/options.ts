/** commander's collector for repeatable options (`--tag a --tag b`). Its own module: importing it must not load any command. */
export function collect (value: string, previous: string[]): string[] {
  return [...previous, value]
}
