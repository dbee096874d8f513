import { multiaddr } from '@multiformats/multiaddr'
import { peerIdFromString } from '@libp2p/peer-id'
import { errorMessage } from '../errors.js'
import type { Logger } from './logger.js'
import type { Libp2p, PeerId } from '@libp2p/interface'

export interface ConnectorInit {
  /** addresses of peers to (re)dial when the node has too few connections */
  known: () => Array<{ peerId: string, addresses: string[] }>
  bootstrap: string[]
  minConnections?: number
  intervalMs?: number
  dialTimeoutMs?: number
}

const DEFAULTS = { minConnections: 4, intervalMs: 5_000, dialTimeoutMs: 5_000 }

/**
 * Keeps a node connected: dials what discovery (mDNS, bootstrap) reports, and whenever the node has
 * fewer than `minConnections`, dials bootstrap addresses and peers remembered from the peer table.
 * libp2p v3 no longer auto-dials discovered peers, and a restarted bootstrap node is otherwise
 * never dialled again.
 */
export class Connector {
  private readonly node: Libp2p
  private readonly log: Logger
  private readonly init: Required<ConnectorInit>
  private readonly dialing = new Set<string>()
  private timer?: ReturnType<typeof setInterval>
  private controller?: AbortController

  constructor (node: Libp2p, log: Logger, init: ConnectorInit) {
    this.node = node
    this.log = log
    this.init = { ...DEFAULTS, ...init }
  }

  start (): void {
    if (this.controller != null) return
    this.controller = new AbortController()
    this.node.addEventListener('peer:discovery', this.onDiscovery)
    this.timer = setInterval(() => { this.topUp() }, this.init.intervalMs)
    this.timer.unref()
    this.topUp()
  }

  stop (): void {
    if (this.controller == null) return
    this.controller.abort()
    this.controller = undefined
    clearInterval(this.timer)
    this.node.removeEventListener('peer:discovery', this.onDiscovery)
  }

  private readonly onDiscovery = (evt: CustomEvent<{ id: PeerId }>): void => {
    this.dial(evt.detail.id)
  }

  private topUp (): void {
    if (this.node.getConnections().length >= this.init.minConnections) return
    for (const addr of this.init.bootstrap) {
      const ma = multiaddr(addr)
      const id = ma.getComponents().find(c => c.name === 'p2p')?.value
      if (id != null) this.dial(peerIdFromString(id), [ma])
    }
    for (const peer of this.init.known()) {
      try {
        this.dial(peerIdFromString(peer.peerId), peer.addresses.map(a => multiaddr(a)))
      } catch {
        // a remembered address that no longer parses is skipped; the peer table will refresh it
      }
    }
  }

  private dial (id: PeerId, addrs?: ReturnType<typeof multiaddr>[]): void {
    const key = id.toString()
    if (this.controller == null || id.equals(this.node.peerId) || this.dialing.has(key)) return
    if (this.node.getConnections(id).length > 0) return
    this.dialing.add(key)
    const signal = AbortSignal.any([this.controller.signal, AbortSignal.timeout(this.init.dialTimeoutMs)])
    const target = addrs != null && addrs.length > 0 ? addrs.map(a => a.getComponents().some(c => c.name === 'p2p') ? a : a.encapsulate(`/p2p/${key}`)) : id
    this.node.dial(target, { signal })
      .then(() => { this.log.debug({ component: 'connector', peer: key }, 'connected') })
      .catch((err: unknown) => { this.log.debug({ component: 'connector', peer: key, reason: errorMessage(err) }, 'dial failed') })
      .finally(() => { this.dialing.delete(key) })
  }
}
