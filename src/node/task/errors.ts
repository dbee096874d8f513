import { InvalidFileError } from '../../errors.js'

/**
 * A task file that cannot be dispatched: unreadable, not JSON, or breaking the schema or a rule the
 * schema cannot express. One line, `<file>: field 'resources.cores': must be >= 1`, exit 2
 * (SPEC.md: "A bad task file gets a message naming the file, the field and what is wrong").
 */
export class InvalidTaskError extends InvalidFileError {
  /** dotted path of the bad field (`files[0].dest`); undefined for file-level problems */
  readonly field: string | undefined
  /** the message without the file name */
  readonly problem: string

  constructor (path: string, problem: string, field?: string, options?: ErrorOptions) {
    super(path, field == null ? problem : `field '${field}': ${problem}`, 2, options)
    this.name = 'InvalidTaskError'
    this.field = field
    this.problem = problem
  }
}
