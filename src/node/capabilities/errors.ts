/** A cpulist (`0-3,8`) that is not one; `text` is the offending part. */
export class InvalidCpuListError extends Error {
  readonly text: string

  constructor (text: string, problem: string) {
    super(`invalid cpulist ${JSON.stringify(text)}: ${problem}`)
    this.name = 'InvalidCpuListError'
    this.text = text
  }
}
