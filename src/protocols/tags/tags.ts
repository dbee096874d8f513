import { anySignal } from 'any-signal'
import { EARLY_PROVIDE_DELAYS_MS, FIND_TIMEOUT_MS, MAX_PROVIDERS, PROVIDE_INTERVAL_MS, PROVIDE_JITTER, PROVIDE_TIMEOUT_MS } from './constants.js'
import { tagKey } from './key.js'
import type { TagHolder, Tags, TagsComponents, TagsInit } from './index.js'

export class TagAdvertiser implements Tags {
  private readonly components: TagsComponents
  private readonly init: TagsInit
  private readonly timers = new Set<ReturnType<typeof setTimeout>>()
  private controller?: AbortController
  private providing = false

  constructor (components: TagsComponents, init: TagsInit) {
    this.components = components
    this.init = init
  }

  async start (): Promise<void> {
    if (this.controller != null) return
    this.controller = new AbortController()
    for (const delay of [0, ...EARLY_PROVIDE_DELAYS_MS]) this.schedule(delay)
    this.schedule(this.nextInterval(), true)
  }

  async stop (): Promise<void> {
    if (this.controller == null) return
    this.controller.abort()
    this.controller = undefined
    for (const t of this.timers) clearTimeout(t)
    this.timers.clear()
  }

  async findPeers (tag: string, options: { signal?: AbortSignal } = {}): Promise<TagHolder[]> {
    const key = await tagKey(tag)
    const signal = anySignal([AbortSignal.timeout(FIND_TIMEOUT_MS), options.signal])
    const found = new Map<string, TagHolder>()
    try {
      for await (const event of this.components.dht.findProviders(key, { signal })) {
        if (event.name !== 'PROVIDER') continue
        for (const p of event.providers) {
          const id = p.id.toString()
          const holder = found.get(id) ?? { peerId: id, addresses: [] }
          const addrs = new Set([...holder.addresses, ...p.multiaddrs.map(String)])
          holder.addresses = [...addrs]
          found.set(id, holder)
        }
        if (found.size >= MAX_PROVIDERS) break
      }
    } catch (err) {
      // a timed-out walk still returns what it found so far; other failures are worth a log line
      if (!signal.aborted) this.components.log.warn({ component: 'tags', err }, 'findProviders failed')
    } finally {
      signal.clear()
    }
    return [...found.values()]
  }

  /** `periodic`: after this walk, the next one is scheduled */
  private schedule (delay: number, periodic = false): void {
    const t = setTimeout(() => {
      this.timers.delete(t)
      if (periodic && this.controller != null) this.schedule(this.nextInterval(), true)
      void this.provideAll()
    }, delay)
    t.unref()
    this.timers.add(t)
  }

  private nextInterval (): number {
    const base = this.init.provideIntervalMs ?? PROVIDE_INTERVAL_MS
    return Math.round(base * (1 + PROVIDE_JITTER * (2 * Math.random() - 1)))
  }

  private async provideAll (): Promise<void> {
    const controller = this.controller
    if (controller == null || this.providing) return
    this.providing = true
    const signal = anySignal([controller.signal, AbortSignal.timeout(PROVIDE_TIMEOUT_MS)])
    try {
      await Promise.all(this.init.tags.map(async tag => {
        const key = await tagKey(tag)
        for await (const _ of this.components.dht.provide(key, { signal })) { /* drain the walk */ }
      }))
      this.components.log.debug({ component: 'tags', tags: this.init.tags }, 'provided tags')
    } catch (err) {
      if (!controller.signal.aborted) this.components.log.debug({ component: 'tags', err }, 'provide walk did not finish; will retry')
    } finally {
      signal.clear()
      this.providing = false
    }
  }
}
