import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { errorMessage } from '../../errors.js'
import { DEFAULT_PROBE_FAILURES, DEFAULT_PROBE_INTERVAL_MS, DEFAULT_PROBE_TIMEOUT_MS, DEFAULT_SUSPECT_AFTER_MS } from './constants.js'
import { Detector } from './detector.js'
import type { LivenessState, Transition } from './detector.js'
import type { LivenessComponents, LivenessInit, LivenessService as LivenessApi } from './index.js'
import type { PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

type Listener = (peerId: string) => void

export class LivenessMonitor implements LivenessApi {
  private readonly components: LivenessComponents
  private readonly init: LivenessInit
  private readonly now: () => number
  private readonly probeTimeoutMs: number
  private readonly detector: Detector
  private readonly deadListeners = new Set<Listener>()
  private readonly aliveListeners = new Set<Listener>()
  private timer?: ReturnType<typeof setTimeout>
  /** aborts probes in flight on stop */
  private controller?: AbortController

  constructor (components: LivenessComponents, init: LivenessInit) {
    this.components = components
    this.init = init
    this.now = init.now ?? Date.now
    this.probeTimeoutMs = init.probeTimeoutMs ?? DEFAULT_PROBE_TIMEOUT_MS
    this.detector = new Detector({
      suspectAfterMs: init.suspectAfterMs ?? DEFAULT_SUSPECT_AFTER_MS,
      probeIntervalMs: init.probeIntervalMs ?? DEFAULT_PROBE_INTERVAL_MS,
      probeFailures: init.probeFailures ?? DEFAULT_PROBE_FAILURES
    })
  }

  start (): void {
    if (this.controller != null) return
    this.controller = new AbortController()
    this.components.events.addEventListener('peer:disconnect', this.onDisconnect)
    this.schedule()
  }

  stop (): void {
    if (this.controller == null) return
    this.components.events.removeEventListener('peer:disconnect', this.onDisconnect)
    this.controller.abort()
    this.controller = undefined
    clearTimeout(this.timer)
    this.timer = undefined
  }

  state (peerId: string): LivenessState {
    return this.detector.state(peerId)
  }

  onDead (fn: Listener): () => void {
    this.deadListeners.add(fn)
    return () => { this.deadListeners.delete(fn) }
  }

  onAlive (fn: Listener): () => void {
    this.aliveListeners.add(fn)
    return () => { this.aliveListeners.delete(fn) }
  }

  heard (peerId: string, leaving = false): void {
    if (this.controller == null) return
    this.apply(this.detector.heard(peerId, this.now(), leaving))
    this.schedule()
  }

  private readonly onDisconnect = (evt: CustomEvent<PeerId>): void => {
    this.apply(this.detector.disconnected(evt.detail.toString(), this.now()))
    // probe at once rather than at the next deadline
    this.run()
  }

  /** One timer, set to the detector's next deadline; inputs re-arm it. */
  private schedule (): void {
    clearTimeout(this.timer)
    this.timer = undefined
    if (this.controller == null) return
    const at = this.detector.nextWakeAt()
    if (at == null) return
    this.timer = setTimeout(() => { this.run() }, Math.max(0, at - this.now()))
    this.timer.unref()
  }

  private run (): void {
    if (this.controller == null) return
    const now = this.now()
    for (const t of this.detector.tick(now)) this.apply(t)
    for (const peerId of this.detector.dueProbes(now)) void this.probe(peerId, this.controller.signal)
    this.schedule()
  }

  private async probe (peerId: string, stopped: AbortSignal): Promise<void> {
    let outcome: Transition | undefined
    try {
      await this.components.ping.ping(this.target(peerId), { signal: AbortSignal.any([stopped, AbortSignal.timeout(this.probeTimeoutMs)]) })
      if (stopped.aborted) return
      outcome = this.detector.probeSucceeded(peerId, this.now())
    } catch (err) {
      if (stopped.aborted) return
      const why = errorMessage(err)
      this.components.log.debug({ component: 'liveness', peer: peerId, reason: why }, 'probe failed')
      outcome = this.detector.probeFailed(peerId, this.now(), why)
    }
    this.apply(outcome)
    this.schedule()
  }

  /** The open connection if any (libp2p reuses it), else the advertised addresses, else the peer store's. */
  private target (peerId: string): PeerId | Multiaddr[] {
    const addrs: Multiaddr[] = []
    for (const a of this.init.addresses?.(peerId) ?? []) {
      try {
        const ma = multiaddr(a)
        addrs.push(ma.getComponents().some(c => c.name === 'p2p') ? ma : ma.encapsulate(`/p2p/${peerId}`))
      } catch {
        // an address that does not parse is skipped; the next heartbeat refreshes them
      }
    }
    return addrs.length > 0 ? addrs : peerIdFromString(peerId)
  }

  private apply (t: Transition | undefined): void {
    if (t == null) return
    const { log } = this.components
    const fields = { component: 'liveness', peer: t.peerId, name: this.init.name?.(t.peerId), from: t.from, reason: t.reason }
    if (t.to === 'dead') {
      log.info(fields, 'peer dead')
      this.notify(this.deadListeners, t.peerId)
    } else if (t.to === 'alive' && (t.from === 'suspect' || t.from === 'dead')) {
      if (t.from === 'dead') log.info(fields, 'peer alive again')
      else log.debug(fields, 'suspect peer alive')
      this.notify(this.aliveListeners, t.peerId)
    } else if (t.to === 'suspect') {
      log.debug(fields, 'peer suspect')
    }
  }

  private notify (listeners: Set<Listener>, peerId: string): void {
    for (const fn of [...listeners]) {
      try {
        fn(peerId)
      } catch (err) {
        this.components.log.warn({ component: 'liveness', peer: peerId, err }, 'liveness listener failed')
      }
    }
  }
}
