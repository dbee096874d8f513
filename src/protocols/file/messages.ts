import { oneLine } from '../peer-text.js'

export interface FileRequest {
  sha256: string
}

export type FileReply =
  | { status: 'ok', size: number }
  | { status: 'missing' | 'busy', reason: string }

const SHA256 = /^[0-9a-f]{64}$/

export function isFileRequest (v: unknown): v is FileRequest {
  const r = v as FileRequest | null
  return typeof r === 'object' && r !== null && Object.keys(r).length === 1 && typeof r.sha256 === 'string' && SHA256.test(r.sha256)
}

export function isFileReply (v: unknown): v is FileReply {
  const r = v as { status?: unknown, size?: unknown, reason?: unknown } | null
  if (typeof r !== 'object' || r === null) return false
  if (r.status === 'ok') return Number.isSafeInteger(r.size) && (r.size as number) >= 0
  return (r.status === 'missing' || r.status === 'busy') && typeof r.reason === 'string' && r.reason.length <= 2048
}

/** the holder's reason is shown to people: one clean line */
export function replyReason (reply: FileReply & { status: 'missing' | 'busy' }): string {
  return oneLine(reply.reason)
}
