/**
 * The V8 heap of another Node process, for memory benchmarks: the process is started with
 * NODE_OPTIONS=--inspect-port=127.0.0.1:0, SIGUSR1 opens its inspector (it prints the WebSocket
 * URL on stderr, i.e. into the daemon's log file), and Runtime.evaluate reads
 * process.memoryUsage() after a full GC (HeapProfiler.collectGarbage).
 */
import { readFileSync } from 'node:fs'
import { setTimeout as sleep } from 'node:timers/promises'

/** the environment that lets SIGUSR1 open the inspector on a free loopback port */
export const INSPECTABLE_ENV = { NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --inspect-port=127.0.0.1:0`.trim() }

export interface MemoryUsage {
  rss: number
  heapTotal: number
  heapUsed: number
  external: number
  arrayBuffers: number
}

/** Opens the inspector of `pid` (whose stderr goes to `logFile`) and returns its WebSocket URL. */
export async function openInspector (pid: number, logFile: string, timeoutMs = 10_000): Promise<string> {
  const find = (): string | undefined => /Debugger listening on (ws:\/\/\S+)/.exec(readFileSync(logFile, 'utf8'))?.[1]
  const known = find()
  if (known != null) return known
  process.kill(pid, 'SIGUSR1')
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const url = find()
    if (url != null) return url
    if (Date.now() > deadline) throw new Error(`pid ${pid} printed no inspector URL within ${timeoutMs} ms`)
    await sleep(100)
  }
}

/** process.memoryUsage() of the inspected process, after a full garbage collection. */
export async function heapAfterGc (url: string, timeoutMs = 30_000): Promise<MemoryUsage> {
  const ws = new WebSocket(url)
  const pending = new Map<number, { resolve: (v: unknown) => void, reject: (e: Error) => void }>()
  let next = 1
  ws.addEventListener('message', ev => {
    const msg = JSON.parse(String(ev.data)) as { id?: number, result?: unknown, error?: { message: string } }
    const p = msg.id != null ? pending.get(msg.id) : undefined
    if (p == null) return
    pending.delete(msg.id as number)
    if (msg.error != null) p.reject(new Error(msg.error.message))
    else p.resolve(msg.result)
  })
  const send = async (method: string, params: Record<string, unknown> = {}): Promise<unknown> => new Promise((resolve, reject) => {
    const id = next++
    pending.set(id, { resolve, reject })
    ws.send(JSON.stringify({ id, method, params }))
  })
  const timer = setTimeout(() => { ws.close() }, timeoutMs)
  try {
    await new Promise<void>((resolve, reject) => {
      ws.addEventListener('open', () => { resolve() }, { once: true })
      ws.addEventListener('error', () => { reject(new Error(`cannot connect to ${url}`)) }, { once: true })
      ws.addEventListener('close', () => { reject(new Error(`${url} closed`)) }, { once: true })
    })
    await send('HeapProfiler.collectGarbage')
    const r = await send('Runtime.evaluate', { expression: 'JSON.stringify(process.memoryUsage())', returnByValue: true }) as { result: { value: string } }
    return JSON.parse(r.result.value) as MemoryUsage
  } finally {
    clearTimeout(timer)
    ws.close()
  }
}
