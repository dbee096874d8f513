/** How a task file read from stdin is named in messages. Its own module: the CLI names files without loading the schema. */
export const STDIN_NAME = '<stdin>'
