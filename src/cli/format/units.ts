export function formatMemory (mb: number | null): string {
  if (mb == null) return '-'
  return mb >= 1024 ? `${(mb / 1024).toFixed(1)} GiB` : `${mb} MiB`
}

/** "3s ago", "5m ago", "2h ago", "4d ago" */
export function formatAgo (iso: string | null, now: Date = new Date()): string {
  if (iso == null || Number.isNaN(Date.parse(iso))) return '-'
  const s = Math.max(0, Math.round((now.getTime() - Date.parse(iso)) / 1000))
  if (s < 60) return `${s}s ago`
  if (s < 3600) return `${Math.floor(s / 60)}m ago`
  if (s < 86400) return `${Math.floor(s / 3600)}h ago`
  return `${Math.floor(s / 86400)}d ago`
}

export function shortId (id: string): string {
  return id.length > 16 ? `${id.slice(0, 8)}…${id.slice(-6)}` : id
}
