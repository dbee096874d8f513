/** Flag values of the benchmark scripts: one line naming the flag when a value is bad (benchStart prints it, exit 2). */

/** A whole number in [minValue, maxValue]. */
export function whole (flag: string, value: string, minValue: number, maxValue = Infinity): number {
  const x = Number(value)
  if (!Number.isInteger(x) || x < minValue || x > maxValue) {
    const range = Number.isFinite(maxValue) ? `from ${minValue} to ${maxValue}` : `>= ${minValue}`
    throw new Error(`${flag}: expected a whole number ${range} (got '${value}')`)
  }
  return x
}
