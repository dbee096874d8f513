/**
 * Text a peer sends that a person will read (a refusal reason, a cancel message): whatever it
 * holds, it is shown as one printable line of bounded length, so a peer cannot break a log line,
 * forge extra output lines or send terminal escape sequences.
 */

/** longest peer text shown as is; the rest is cut with an ellipsis */
export const MAX_PEER_TEXT_CHARS = 256

export function oneLine (text: string, max = MAX_PEER_TEXT_CHARS): string {
  // control characters (C0, DEL, C1), line and paragraph separators and lone surrogates become spaces
  const clean = text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, ' ').trim()
  if (clean.length <= max) return clean
  // do not cut a surrogate pair in two
  const cut = /[\ud800-\udbff]/.test(clean.charAt(max - 2)) ? max - 2 : max - 1
  return `${clean.slice(0, cut)}…`
}

/**
 * A value from a peer named inside one of our own messages: JSON-quoted (newlines, control
 * characters and lone surrogates escaped) and cut to `max` characters.
 */
export function quoted (text: string, max = 80): string {
  const cut = text.length > max ? `${text.slice(0, /[\ud800-\udbff]/.test(text.charAt(max - 1)) ? max - 1 : max)}…` : text
  // JSON leaves U+2028/2029 and C1 controls as they are; they break lines in some terminals and logs
  return JSON.stringify(cut).replace(/[\u007f-\u009f\u2028\u2029]/g, c => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
}

/**
 * A value named in a one-line message: `'text'` as before for a short printable string, JSON-quoted
 * and cut (see quoted) for anything else, and its type for a value that is not a string.
 */
export function shown (value: unknown, max = 80): string {
  if (typeof value === 'string') {
    const plain = value.length <= max && !/['\u0000-\u001f\u007f-\u009f\u2028\u2029]/.test(value) && value.isWellFormed()
    return plain ? `'${value}'` : quoted(value, max)
  }
  if (value === null || typeof value === 'number' || typeof value === 'boolean') return JSON.stringify(value)
  return Array.isArray(value) ? 'an array' : typeof value === 'object' ? 'an object' : typeof value
}
