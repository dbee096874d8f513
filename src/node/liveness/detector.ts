/**
 * The failure detector's decisions, without timers or I/O: every input carries its time, and the
 * service asks what to probe and when to wake up. Unit tests drive it with plain numbers.
 *
 *            heartbeat / probe ok                      probeFailures failed probes in a row
 *   alive ◀──────────────────────── suspect ───────────────────────────────────────▶ dead
 *     │  silence ≥ suspectAfterMs      ▲                                              │
 *     └─ or connection closed ─────────┘           heartbeat ──▶ alive ◀──────────────┘
 *
 * Only peers heard in a heartbeat are tracked; a goodbye heartbeat forgets the peer (it left, it
 * did not fail). Dead peers are not probed: their next heartbeat brings them back.
 */

export type LivenessState = 'alive' | 'suspect' | 'dead' | 'unknown'

export interface DetectorPolicy {
  /** silence after which a peer is suspect */
  suspectAfterMs: number
  /** time between the starts of two probes of one suspect */
  probeIntervalMs: number
  /** consecutive failed probes that make a suspect dead */
  probeFailures: number
}

export interface Transition {
  peerId: string
  from: LivenessState
  to: LivenessState
  /** why, in a few words, for the log */
  reason: string
}

interface Entry {
  state: 'alive' | 'suspect' | 'dead'
  /** last heartbeat or successful probe, on this node's clock */
  lastContact: number
  /** consecutive failed probes in the current suspicion */
  failures: number
  probing: boolean
  /** a suspect's next probe may start then */
  nextProbeAt: number
}

export class Detector {
  private readonly policy: DetectorPolicy
  private readonly peers = new Map<string, Entry>()

  constructor (policy: DetectorPolicy) {
    this.policy = policy
  }

  state (peerId: string): LivenessState {
    return this.peers.get(peerId)?.state ?? 'unknown'
  }

  /** Every tracked peer and its state. */
  list (): Array<{ peerId: string, state: LivenessState }> {
    return [...this.peers].map(([peerId, e]) => ({ peerId, state: e.state }))
  }

  /** A heartbeat (newer than any before) from the peer; `leaving` is its goodbye. */
  heard (peerId: string, at: number, leaving = false): Transition | undefined {
    const entry = this.peers.get(peerId)
    if (leaving) {
      if (entry == null) return undefined
      this.peers.delete(peerId)
      return { peerId, from: entry.state, to: 'unknown', reason: 'said goodbye' }
    }
    if (entry == null) {
      this.peers.set(peerId, { state: 'alive', lastContact: at, failures: 0, probing: false, nextProbeAt: at })
      return { peerId, from: 'unknown', to: 'alive', reason: 'first heartbeat' }
    }
    entry.lastContact = Math.max(entry.lastContact, at)
    return this.revive(peerId, entry, 'heartbeat')
  }

  /** The last connection to the peer closed: a killed daemon's kernel closes them at once. */
  disconnected (peerId: string, at: number): Transition | undefined {
    const entry = this.peers.get(peerId)
    if (entry?.state !== 'alive') return undefined
    return this.suspect(peerId, entry, at, 'connection closed')
  }

  /** Alive peers silent for suspectAfterMs become suspect. */
  tick (now: number): Transition[] {
    const out: Transition[] = []
    for (const [peerId, entry] of this.peers) {
      const silent = now - entry.lastContact
      if (entry.state === 'alive' && silent >= this.policy.suspectAfterMs) {
        out.push(this.suspect(peerId, entry, now, `no heartbeat for ${silent} ms`))
      }
    }
    return out
  }

  /** Suspects whose next probe is due and that have none running; they count as probing from now. */
  dueProbes (now: number): string[] {
    const out: string[] = []
    for (const [peerId, entry] of this.peers) {
      if (entry.state !== 'suspect' || entry.probing || entry.nextProbeAt > now) continue
      entry.probing = true
      entry.nextProbeAt = now + this.policy.probeIntervalMs
      out.push(peerId)
    }
    return out
  }

  probeSucceeded (peerId: string, at: number): Transition | undefined {
    const entry = this.peers.get(peerId)
    if (entry == null) return undefined
    entry.probing = false
    // a late answer from a peer already declared dead does not revive it: only a heartbeat does,
    // so a dead peer's state never flaps on one stray reply
    if (entry.state !== 'suspect') return undefined
    entry.lastContact = Math.max(entry.lastContact, at)
    return this.revive(peerId, entry, 'probe answered')
  }

  probeFailed (peerId: string, _at: number, why: string): Transition | undefined {
    const entry = this.peers.get(peerId)
    if (entry == null) return undefined
    entry.probing = false
    if (entry.state !== 'suspect') return undefined
    entry.failures++
    if (entry.failures < this.policy.probeFailures) return undefined
    entry.state = 'dead'
    return { peerId, from: 'suspect', to: 'dead', reason: `${entry.failures} probes failed, last: ${why}` }
  }

  /**
   * When something may next change without a new input: the earliest silence deadline of an alive
   * peer or probe time of an idle suspect; undefined when nothing is pending.
   */
  nextWakeAt (): number | undefined {
    let next: number | undefined
    for (const entry of this.peers.values()) {
      const at = entry.state === 'alive'
        ? entry.lastContact + this.policy.suspectAfterMs
        : entry.state === 'suspect' && !entry.probing ? entry.nextProbeAt : undefined
      if (at != null && (next == null || at < next)) next = at
    }
    return next
  }

  forget (peerId: string): void {
    this.peers.delete(peerId)
  }

  private suspect (peerId: string, entry: Entry, at: number, reason: string): Transition {
    entry.state = 'suspect'
    entry.failures = 0
    // the first probe goes out at once: a closed connection is usually a dead process
    entry.nextProbeAt = at
    return { peerId, from: 'alive', to: 'suspect', reason }
  }

  private revive (peerId: string, entry: Entry, reason: string): Transition | undefined {
    if (entry.state === 'alive') return undefined
    const from = entry.state
    entry.state = 'alive'
    entry.failures = 0
    return { peerId, from, to: 'alive', reason }
  }
}
