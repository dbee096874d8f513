export const RESULTS_TOPIC = '/mesh/results/1.0.0'
export const RESULTS_DOMAIN = 'mesh-result'
export const RESULTS_PAYLOAD_TYPE = new TextEncoder().encode('/mesh/results/1.0.0')
/** two 16 KiB output tails plus metadata, JSON-escaped, inside a signed envelope */
export const MAX_RESULT_BYTES = 96 * 1024
/** bound of each output tail carried in a record */
export const TAIL_CHARS = 8 * 1024
