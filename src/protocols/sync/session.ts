import { ProtocolError } from '../frames.js'
import { FRAME_TIMEOUT_MS, ITEMS_PER_FRAME, MAX_SESSION_BYTES, MAX_VERSIONS, MAX_WANTS } from './constants.js'
import { bucketOf, differing, wanted } from './digest.js'
import { decodeFrame, encodeFrame } from './messages.js'
import type { Digest } from './digest.js'
import type { RecordKey, RecordVersion, RevocationSync, SyncResult, SyncStore } from './index.js'
import type { Frame, FrameKind } from './messages.js'
import type { Frames } from '../frames.js'
import type { RecordVerdict } from '../results/index.js'
import type { Logger } from '../../node/logger.js'

export interface SessionContext {
  f: Frames
  peer: string
  store: SyncStore
  /** this node's digest (cached by the service per store revision) */
  digest: () => Digest
  /** the gossip checks: envelope signature, schema, signer allowed for the state, signer a member */
  check: (envelope: Uint8Array) => Promise<RecordVerdict>
  revocations?: RevocationSync
  log: Logger
  signal: AbortSignal
}

/**
 * One sync session over one stream, in strict turns so neither side ever writes while the other
 * does (no flow-control deadlock with large turns):
 *
 *   initiator                                   responder
 *   hello{rev, bucket hashes}  ───────────────▶
 *                              ◀─────────────── hello{rev, bucket hashes}     (equal: both close)
 *                              ◀─────────────── versions* of differing buckets, end
 *   versions*, wants*, end     ───────────────▶
 *                              ◀─────────────── record* wanted, revocations?, wants*, end
 *   record* wanted, revocations?, end ────────▶
 *
 * Received records pass the gossip checks before the store's own (consistent, supersedes); a
 * record an honest node could never have kept (forged, malformed, signed by someone not allowed to
 * write that state) or one not asked for ends the session with a ProtocolError.
 */
export class Session {
  private readonly c: SessionContext
  private readonly result: SyncResult = { buckets: 0, asked: 0, received: 0, accepted: 0, refused: 0, sent: 0, revocations: null, more: false }
  /** records asked for and not yet received, by `id/attempt` */
  private readonly asked = new Set<string>()
  private mine?: Digest
  /** indexes of the buckets whose hashes differ between the two hellos */
  private buckets: number[] = []
  private myRevocations = 0
  private theirRevocations = 0

  constructor (context: SessionContext) {
    this.c = context
  }

  async initiate (): Promise<SyncResult> {
    const mine = this.hello()
    await this.send(mine)
    const theirs = await this.expect('hello')
    if (this.nothingToDo(theirs)) return this.result
    const their = await this.readTurn(['versions'])
    await this.sendVersions()
    await this.sendWants(their.versions)
    await this.send({ kind: 'end' })
    const reply = await this.readTurn(['record', 'revocations', 'wants'])
    await this.sendRecords(reply.wants)
    await this.sendRevocations()
    await this.send({ kind: 'end' })
    return this.result
  }

  async respond (): Promise<SyncResult> {
    const theirs = await this.expect('hello')
    await this.send(this.hello())
    if (this.nothingToDo(theirs)) return this.result
    await this.sendVersions()
    await this.send({ kind: 'end' })
    const their = await this.readTurn(['versions', 'wants'])
    await this.sendRecords(their.wants)
    await this.sendRevocations()
    await this.sendWants(their.versions)
    await this.send({ kind: 'end' })
    await this.readTurn(['record', 'revocations'])
    return this.result
  }

  private hello (): Frame {
    this.mine = this.c.digest()
    this.myRevocations = this.c.revocations?.version() ?? 0
    return { kind: 'hello', revocations: this.myRevocations, buckets: this.mine.buckets }
  }

  /** Both sides compute this from the two hellos, so both stop here together. */
  private nothingToDo (theirs: Extract<Frame, { kind: 'hello' }>): boolean {
    this.theirRevocations = theirs.revocations
    this.buckets = differing(this.mine!.buckets, theirs.buckets)
    this.result.buckets = this.buckets.length
    return this.buckets.length === 0 && this.theirRevocations === this.myRevocations
  }

  private async sendVersions (): Promise<void> {
    const versions = this.buckets.flatMap(b => this.mine!.versions[b] ?? [])
    for (let i = 0; i < versions.length; i += ITEMS_PER_FRAME) await this.send({ kind: 'versions', versions: versions.slice(i, i + ITEMS_PER_FRAME) })
  }

  private async sendWants (theirs: RecordVersion[]): Promise<void> {
    const { store } = this.c
    const all = wanted(theirs, (id, attempt) => store.held(id, attempt), v => store.wouldKeep(v))
    const keys = all.slice(0, MAX_WANTS)
    this.result.more = all.length > keys.length
    this.result.asked = keys.length
    for (const k of keys) this.asked.add(`${k.id}/${k.attempt}`)
    for (let i = 0; i < keys.length; i += ITEMS_PER_FRAME) await this.send({ kind: 'wants', keys: keys.slice(i, i + ITEMS_PER_FRAME).map(k => ({ id: k.id, attempt: k.attempt })) })
  }

  private async sendRecords (wants: RecordKey[]): Promise<void> {
    let bytes = 0
    for (const k of wants) {
      const envelope = await this.c.store.envelope(k.id, k.attempt)
      if (envelope == null) continue
      // the rest comes in the peer's follow-up session
      if (bytes + envelope.byteLength > MAX_SESSION_BYTES) break
      bytes += envelope.byteLength
      await this.send({ kind: 'record', envelope })
      this.result.sent++
    }
  }

  private async sendRevocations (): Promise<void> {
    if (this.myRevocations <= this.theirRevocations) return
    const list = this.c.revocations?.list()
    if (list == null) return
    await this.send({ kind: 'revocations', list })
    this.result.revocations = 'sent'
  }

  /** Reads frames of the allowed kinds until `end`, acting on records and revocations as they come. */
  private async readTurn (allowed: FrameKind[]): Promise<{ versions: RecordVersion[], wants: RecordKey[] }> {
    const versions: RecordVersion[] = []
    const wants: RecordKey[] = []
    const inDiff = new Set(this.buckets)
    while (true) {
      const frame = await this.read()
      if (frame.kind === 'end') return { versions, wants }
      if (!allowed.includes(frame.kind)) throw new ProtocolError(`sync: unexpected ${frame.kind} frame`)
      switch (frame.kind) {
        case 'versions':
          if (versions.length + frame.versions.length > MAX_VERSIONS) throw new ProtocolError(`sync: peer listed more than ${MAX_VERSIONS} versions`)
          for (const v of frame.versions) {
            if (!inDiff.has(bucketOf(v.id))) throw new ProtocolError(`sync: peer listed task ${v.id} from a bucket that does not differ`)
            versions.push(v)
          }
          break
        case 'wants':
          if (wants.length + frame.keys.length > MAX_WANTS) throw new ProtocolError(`sync: peer asked for more than ${MAX_WANTS} records`)
          wants.push(...frame.keys)
          break
        case 'record':
          await this.receive(frame.envelope)
          break
        case 'revocations':
          await this.receiveRevocations(frame.list)
          break
        default:
          throw new ProtocolError(`sync: unexpected ${frame.kind} frame`)
      }
    }
  }

  private async receive (envelope: Uint8Array): Promise<void> {
    if (this.result.received >= this.result.asked) throw new ProtocolError('sync: peer sent more records than were asked for')
    this.result.received++
    const verdict = await this.c.check(envelope)
    if (!verdict.ok) {
      if (verdict.peerFault) throw new ProtocolError(`sync: peer relayed a record that fails verification: ${verdict.reason}`)
      // not a member here (yet or any more): an honest peer may still hold it
      this.result.refused++
      this.c.log.debug({ component: 'sync', peer: this.c.peer, reason: verdict.reason }, 'relayed record not accepted')
      return
    }
    const key = `${verdict.record.id}/${verdict.record.attempt}`
    if (!this.asked.delete(key)) throw new ProtocolError(`sync: peer sent record ${key}, which was not asked for`)
    await this.c.store.put(verdict.record, envelope)
    this.result.accepted++
  }

  private async receiveRevocations (list: Uint8Array): Promise<void> {
    if (this.theirRevocations <= this.myRevocations || this.result.revocations != null || this.c.revocations == null) {
      throw new ProtocolError('sync: peer sent a revocation list that was not due')
    }
    this.result.revocations = 'received'
    // adoption verifies the authority's signature and that the list is newer, and logs the outcome
    await this.c.revocations.adopt(list).catch((err: unknown) => {
      this.c.log.warn({ component: 'sync', peer: this.c.peer, reason: err instanceof Error ? err.message : String(err) }, 'revocation list from sync not adopted')
    })
  }

  private async expect<K extends FrameKind> (kind: K): Promise<Extract<Frame, { kind: K }>> {
    const frame = await this.read()
    if (frame.kind !== kind) throw new ProtocolError(`sync: expected a ${kind} frame, got ${frame.kind}`)
    return frame as Extract<Frame, { kind: K }>
  }

  private async read (): Promise<Frame> {
    const bytes = await this.c.f.readBytes({ signal: this.frameSignal() }, 'sync frame')
    return decodeFrame(bytes)
  }

  private async send (frame: Frame): Promise<void> {
    await this.c.f.writeBytes(encodeFrame(frame), { signal: this.frameSignal() })
  }

  private frameSignal (): AbortSignal {
    return AbortSignal.any([this.c.signal, AbortSignal.timeout(FRAME_TIMEOUT_MS)])
  }
}
