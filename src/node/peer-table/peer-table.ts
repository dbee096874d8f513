import { createAdvertValidator } from '../../protocols/heartbeat/advert.js'
import { errorMessage } from '../../errors.js'
import { isNewer, peerState, shouldDrop } from './state.js'
import type { PeerRecord } from './state.js'
import type { PeerTableApi, PeerTableComponents, PeerTableInit, PeerView } from './index.js'

const DEFAULT_FLUSH_INTERVAL_MS = 5_000

/** Default bound of the table; a lab of hundreds of machines stays far below it. */
export const MAX_PEERS = 10_000

export class PeerTable implements PeerTableApi {
  private readonly components: PeerTableComponents
  private readonly init: PeerTableInit
  private readonly now: () => number
  private readonly peers = new Map<string, PeerRecord>()
  /** written to disk at the next flush; heartbeats are too frequent to write each one */
  private readonly dirty = new Set<string>()
  /** peers heard since start; loaded ones stay offline until their next heartbeat */
  private readonly heard = new Set<string>()
  /** declared dead by the failure detector since their last advert; not persisted (a loaded
   * peer is offline until heard anyway) */
  private readonly down = new Set<string>()
  /** forgotten to make room (maxPeers), to delete from the store at the next flush */
  private readonly evicted = new Set<string>()
  private timer?: ReturnType<typeof setInterval>
  /** the flush in progress, so stop() waits for it before the database closes */
  private flushing?: Promise<void>
  private started = false
  corrupt = 0

  constructor (components: PeerTableComponents, init: PeerTableInit) {
    this.components = components
    this.init = init
    this.now = init.now ?? Date.now
  }

  async start (): Promise<void> {
    if (this.started) return
    this.corrupt = 0
    this.peers.clear()
    this.down.clear()
    await this.load()
    this.started = true
    this.timer = setInterval(() => { void this.flush().catch(() => {}) }, this.init.flushIntervalMs ?? DEFAULT_FLUSH_INTERVAL_MS)
    this.timer.unref()
  }

  async stop (): Promise<void> {
    if (!this.started) return
    this.started = false
    clearInterval(this.timer)
    await this.flush()
  }

  observe (advert: PeerRecord['advert']): boolean {
    const current = this.peers.get(advert.peerId)
    if (!isNewer(current, advert)) return false
    if (current == null && this.peers.size >= (this.init.maxPeers ?? MAX_PEERS)) this.evictOldest()
    this.peers.set(advert.peerId, { advert, lastSeen: this.now() })
    this.heard.add(advert.peerId)
    this.down.delete(advert.peerId)
    this.dirty.add(advert.peerId)
    return true
  }

  markDown (peerId: string): boolean {
    if (!this.peers.has(peerId)) return false
    this.down.add(peerId)
    return true
  }

  get (peerId: string): PeerView | undefined {
    const record = this.peers.get(peerId)
    return record == null ? undefined : this.view(record, this.now())
  }

  list (): PeerView[] {
    const now = this.now()
    return [...this.peers.values()]
      .map(r => this.view(r, now))
      .sort((a, b) => a.advert.name.localeCompare(b.advert.name) || a.advert.peerId.localeCompare(b.advert.peerId))
  }

  private view (record: PeerRecord, now: number): PeerView {
    const id = record.advert.peerId
    const state = this.heard.has(id) && !this.down.has(id) ? peerState(record, now, this.init) : 'offline'
    return { ...record, state }
  }

  private async load (): Promise<void> {
    const validate = createAdvertValidator()
    const { store, log } = this.components
    for await (const [key, value] of store.iterator()) {
      try {
        const record = JSON.parse(value) as PeerRecord
        if (typeof record?.lastSeen !== 'number') throw new Error('lastSeen is missing')
        if (!validate(record.advert)) throw new Error(validate.lastError())
        if (record.advert.peerId !== key) throw new Error(`stored under ${key} but is for ${record.advert.peerId}`)
        this.peers.set(key, record)
      } catch (err) {
        this.corrupt++
        log.warn({ component: 'peer-table', peer: key, reason: errorMessage(err) }, 'stored peer record does not decode; kept on disk, ignored')
      }
    }
  }

  /**
   * A swarm member can sign heartbeats under any number of fresh keys (open lab mode): past
   * maxPeers the peer heard from least recently makes room, so memory and disk stay bounded.
   */
  private evictOldest (): void {
    let oldest: [string, PeerRecord] | undefined
    for (const entry of this.peers) if (oldest == null || entry[1].lastSeen < oldest[1].lastSeen) oldest = entry
    if (oldest == null) return
    const [id] = oldest
    this.peers.delete(id)
    this.dirty.delete(id)
    this.down.delete(id)
    this.evicted.add(id)
    this.components.log.warn({ component: 'peer-table', peer: id, maxPeers: this.init.maxPeers ?? MAX_PEERS }, 'peer table full; forgot the peer heard from least recently')
  }

  /** Writes changed records and drops peers silent for longer than dropAfterMs; one at a time. */
  async flush (): Promise<void> {
    const previous = this.flushing ?? Promise.resolve()
    const run = previous.then(async () => this.flushOnce())
    this.flushing = run
    try {
      await run
    } finally {
      if (this.flushing === run) this.flushing = undefined
    }
  }

  private async flushOnce (): Promise<void> {
    const now = this.now()
    const { store, log } = this.components
    for (const [id, record] of this.peers) {
      if (shouldDrop(record, now, this.init)) {
        this.peers.delete(id)
        this.dirty.delete(id)
        this.down.delete(id)
        log.info({ component: 'peer-table', peer: id }, 'dropped peer silent for too long')
        await store.del(id).catch((err: unknown) => { log.warn({ component: 'peer-table', err }, 'delete failed') })
      }
    }
    for (const id of [...this.evicted]) {
      this.evicted.delete(id)
      await store.del(id).catch((err: unknown) => { log.warn({ component: 'peer-table', err }, 'delete failed') })
    }
    const ids = [...this.dirty]
    this.dirty.clear()
    for (const id of ids) {
      const record = this.peers.get(id)
      if (record == null) continue
      await store.put(id, JSON.stringify(record)).catch((err: unknown) => {
        this.dirty.add(id)
        log.warn({ component: 'peer-table', err }, 'persisting peer failed; will retry')
      })
    }
  }
}
