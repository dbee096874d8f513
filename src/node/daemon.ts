import { existsSync } from 'node:fs'
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id'
import { Level } from 'level'
import { MeshError, errorCode, errorMessage } from '../errors.js'
import { createExecutor, selectExecutor } from '../exec/index.js'
import { cancel as cancelProtocol } from '../protocols/cancel/index.js'
import { heartbeat } from '../protocols/heartbeat/index.js'
import { logs as logsProtocol } from '../protocols/logs/index.js'
import { fileProtocol } from '../protocols/file/index.js'
import { push as pushProtocol } from '../protocols/push/index.js'
import { recordChecker, results as resultsTopic } from '../protocols/results/index.js'
import { roster as rosterProtocol } from '../protocols/roster/index.js'
import { sync as syncProtocol } from '../protocols/sync/index.js'
import { tags as tagAdverts } from '../protocols/tags/index.js'
import { controlHandlers } from './api.js'
import { Dispatcher } from './dispatch/index.js'
import { AuthorityMembership } from './membership/authority.js'
import { installAuthority, installCertificate, loadTrust, saveRevocations } from './membership/files.js'
import { openMembership, unsignedAuth } from './membership/index.js'
import { offerAuth } from './membership/offer-auth.js'
import { serveJoin } from '../protocols/join/index.js'
import { revocations as revocationsTopic } from '../protocols/revocations/index.js'
import { InviteBook, hashSecret, issueCertificate, loadAuthority } from './trust/index.js'
import { Runner, RunJournal } from './runner/index.js'
import { TaskRecords, levelRecordDb } from './store/task-records.js'
import { cachedRecordDb } from './store/cached-db.js'
import { buildAdvert, emptyUsage } from './advert.js'
import { createSystemReader, readCapabilities } from './capabilities/index.js'
import { loadConfig } from './config.js'
import { Connector } from './connector.js'
import { createControlServer } from './control/index.js'
import { ensureHome } from './home.js'
import { initHome } from './init.js'
import { loadKey } from './keys.js'
import { createMeshLibp2p } from './libp2p.js'
import { withCachedSigning } from './signing-key.js'
import { peerTable } from './peer-table/index.js'
import { liveness as livenessService } from './liveness/index.js'
import { installSwarmKey, readSwarmKey } from './swarm-key.js'
import { meshVersion } from './version.js'
import { peerEntries, selfEntry } from './views.js'
import { createTaskQueries } from './task-queries.js'
import type { Capabilities } from './capabilities/index.js'
import type { MeshConfig } from './config.js'
import type { ControlServer } from './control/index.js'
import type { HomePaths } from './home.js'
import type { MeshLibp2p } from './libp2p.js'
import type { Logger } from './logger.js'
import type { PeerTableApi } from './peer-table/index.js'
import type { Liveness, LivenessService } from './liveness/index.js'
import type { NodeInfo, PeerEntry } from './views.js'
import type { Cancel, CancelReply } from '../protocols/cancel/index.js'
import type { Heartbeat } from '../protocols/heartbeat/index.js'
import type { Logs } from '../protocols/logs/index.js'
import type { FileProtocol } from '../protocols/file/index.js'
import type { Push } from '../protocols/push/index.js'
import type { Results, TaskRecord } from '../protocols/results/index.js'
import type { LogsChunk, TaskQueries } from './task-queries.js'
import type { Membership } from './membership/index.js'
import type { TrustState } from './membership/files.js'
import type { Revocations } from '../protocols/revocations/index.js'
import type { Roster } from '../protocols/roster/index.js'
import type { Sync } from '../protocols/sync/index.js'
import type { RecordDb } from './store/task-records.js'
import type { InviteGrant } from './trust/index.js'
import type { Tags } from '../protocols/tags/index.js'
import type { PrivateKey } from '@libp2p/interface'
import type { Executor } from '../exec/index.js'

/** Certificates issued through invites last this long; renew with mesh ca sign. */
const JOIN_CERT_TTL_MS = 90 * 86_400_000
/** Task records whose stored values stay in memory (a few KiB each): the tasks in flight and just done. */
const RECENT_RECORDS = 1024

export interface DaemonOptions {
  home: string
  log: Logger
  /** flags of `mesh start`; they override config.json for this run */
  tags?: string[]
  listen?: string[]
  bootstrap?: string[]
  swarmKeyFile?: string
  mdns?: boolean
  /** authority certificates and this node's certificate to copy into the home (`--authority`, `--cert`) */
  authorities?: string[]
  cert?: string
  /** root of /sys and /proc to read capabilities from (tests pretend to be a 2-NUMA machine) */
  sysfsRoot?: string
  /** called once the daemon asked to stop itself (through `mesh stop`) has stopped */
  onStopped?: () => void
}

/**
 * One mesh node: identity, libp2p, heartbeats, tag adverts, the peer table and the control socket.
 * start() brings them up in dependency order and undoes what it did if a step fails; stop()
 * takes them down in reverse.
 */
export class Daemon {
  private readonly opts: DaemonOptions
  private readonly log: Logger
  private readonly startedAt = new Date()
  private paths?: HomePaths
  private config?: MeshConfig
  private caps?: Capabilities
  private db?: Level<string, string>
  private node?: MeshLibp2p
  private table?: PeerTableApi
  private liveness?: Liveness
  /** the same object as `liveness`, with the heartbeat input the daemon feeds */
  private livenessInput?: LivenessService
  private beat?: Heartbeat
  private rosterService?: Roster
  private tagAdverts?: Tags
  private connector?: Connector
  private control?: ControlServer
  private parts?: TaskParts
  private taskQueries?: TaskQueries
  private membership: Membership = openMembership(unsignedAuth())
  private trust: TrustState = { authorities: [] }
  private authority?: AuthorityMembership
  private revocationTopic?: Revocations
  private revocationTimer?: ReturnType<typeof setInterval>
  private syncService?: Sync
  private invites?: InviteBook
  private inviteAuthorities?: RecordDb
  private joinService?: { start: () => Promise<void>, stop: () => Promise<void> }
  private readonly usage = emptyUsage()
  private executors: NodeInfo['executors'] = { using: 'process', unavailable: [] }
  private swarmKey = false
  private stopping?: Promise<void>
  /** true once start() completed: only then is a stop worth a log line */
  private running = false

  constructor (opts: DaemonOptions) {
    this.opts = opts
    this.log = opts.log
  }

  async start (): Promise<NodeInfo> {
    try {
      await this.startInner()
      this.running = true
    } catch (err) {
      await this.stop().catch(() => {})
      throw err
    }
    return this.info()
  }

  private async startInner (): Promise<void> {
    const { opts, log } = this
    const paths = this.paths = await ensureHome(opts.home)
    const privateKey = await this.identity(paths)
    const config = await loadConfig(paths.config)
    this.config = {
      ...config,
      tags: opts.tags ?? config.tags,
      listen: opts.listen ?? config.listen,
      bootstrap: [...config.bootstrap, ...(opts.bootstrap ?? [])],
      mdns: opts.mdns ?? config.mdns
    }
    const swarmKey = await readSwarmKey(paths.swarmKey)
    this.swarmKey = swarmKey != null
    const self = peerIdFromPrivateKey(privateKey).toString()
    this.trust = await loadTrust(paths.root, self)
    if (this.trust.own != null) {
      // with an authority, a node's tags are those of its certificate
      const certTags = this.trust.own.cert.tags
      if (this.config.tags.some(t => !certTags.includes(t))) log.warn({ component: 'daemon', configured: this.config.tags, certificate: certTags }, 'tags come from the certificate; configured tags outside it are ignored')
      this.config.tags = certTags
    }
    this.caps = await readCapabilities({ reader: createSystemReader(opts.sysfsRoot ?? '/') })

    // the level lock is what keeps two daemons off one home
    this.db = new Level<string, string>(paths.db)
    await this.db.open().catch((err: unknown) => {
      // level reports LEVEL_DATABASE_NOT_OPEN with the lock failure as its cause
      const cause = (err as { cause?: unknown }).cause
      if (errorCode(err) === 'LEVEL_LOCKED' || errorCode(cause) === 'LEVEL_LOCKED') throw new MeshError(`a mesh daemon is already running for ${opts.home}`)
      throw new MeshError(`cannot open the database in ${paths.db}: ${errorMessage(cause ?? err)}`)
    })

    this.table = peerTable({ offlineAfterMs: this.config.offlineAfterMs, dropAfterMs: this.config.dropAfterMs })({
      store: this.db.sublevel<string, string>('peers', {}),
      log
    })
    await this.table.start()
    if (this.table.corrupt > 0) log.warn({ component: 'daemon', count: this.table.corrupt }, 'some stored peer records do not decode')

    // libp2p keeps the key as loaded; mesh's own signatures (several per task) use the cached import
    const signingKey = withCachedSigning(privateKey)
    const membership = this.membership = this.createMembership(self, signingKey)
    const node = this.node = await createMeshLibp2p({
      privateKey,
      denied: id => membership.denied(id),
      listen: this.config.listen,
      bootstrap: this.config.bootstrap,
      mdns: this.config.mdns,
      ...(swarmKey != null ? { swarmKey } : {})
    })
    try {
      await node.start()
    } catch (err) {
      throw listenError(err, this.config.listen)
    }

    const table = this.table
    // before heartbeats start, so the first advert of every peer is tracked
    this.startLiveness(node)
    this.beat = heartbeat({
      intervalMs: this.config.heartbeatIntervalMs,
      authorise: advert => membership.admit(advert),
      ...(membership.cert != null ? { cert: membership.cert } : {}),
      advert: () => this.advertBody(),
      // only a newer advert counts as news of life: a stale copy must not revive a dead peer
      onAdvert: advert => {
        const known = table.get(advert.peerId)?.state === 'online'
        if (!table.observe(advert)) return
        this.livenessInput?.heard(advert.peerId, advert.leaving)
        // tasks waiting for a runner need not sleep out their round if this one now has room
        this.parts?.dispatcher.peerChanged(advert.peerId)
        if (known || advert.leaving) return
        // a line per peer coming online (at most one per peer and offline spell): when each node
        // learnt of each other one, which bench:scale reads (scripts/lib/daemon-logs.ts)
        log.info({ component: 'peers', peer: advert.peerId, name: advert.name }, 'peer online')
        // a newcomer (or a peer back from offline) has not heard this node's advert yet
        this.beat?.greet()
      }
    })({ peerId: node.peerId, privateKey: signingKey, pubsub: node.services.pubsub, log })
    await this.beat.start()
    // a connection's dialler pulls the adverts it lacks: gossip sent before it joined is not repeated
    const beat = this.beat
    this.rosterService = rosterProtocol({
      held: () => beat.held(),
      receive: async (envelope, from) => beat.receive(envelope, from),
      authorise: peer => membership.isMember(peer)
    })({ node, log })
    await this.rosterService.start()

    this.tagAdverts = tagAdverts({ tags: this.config.tags })({ dht: node.services.dht, log })
    await this.tagAdverts.start()

    await this.startTasks(node, signingKey)
    this.startRevocations(node, signingKey)
    await this.startSync(node)
    await this.startInvites(node)

    this.connector = new Connector(node, log, {
      bootstrap: this.config.bootstrap,
      known: () => table.list().map(p => ({ peerId: p.advert.peerId, addresses: p.advert.addresses }))
    })
    this.connector.start()

    this.control = createControlServer({ path: paths.socket, home: opts.home, log, handlers: controlHandlers(this) })
    await this.control.start()

    log.info({ component: 'daemon', peer: node.peerId.toString(), addresses: this.addresses(), tags: this.config.tags, swarmKey: swarmKey != null }, 'mesh daemon started')
    if (swarmKey == null) log.warn({ component: 'daemon' }, 'no swarm key: any host that reaches the listen port can join this mesh')
    if (membership.mode === 'open') log.warn({ component: 'daemon' }, 'open lab mode: no mesh authority configured, every swarm member is trusted for everything')
  }

  /**
   * Open lab mode without an authority; with one, certificates decide who is a member, which tags
   * count and who may dispatch. Offers are signed and replay-checked in both modes.
   */
  private createMembership (self: string, privateKey: PrivateKey): Membership {
    if (this.db == null || this.paths == null) throw new Error('start order')
    const seen = levelRecordDb(this.db.sublevel<string, string>('seen-offers', {}))
    const own = this.trust.own
    if (own == null) return openMembership(offerAuth({ privateKey, seen }))
    const home = this.paths.root
    const name = this.config?.name ?? self
    const authority = this.authority = new AuthorityMembership({
      self,
      authorities: this.trust.authorities,
      ownCert: own.bytes,
      ...(this.trust.revocations != null ? { revocations: this.trust.revocations.list } : {}),
      log: this.log,
      hangUp: async id => { await this.node?.hangUp(peerIdFromString(id)) },
      saveRevocations: async bytes => saveRevocations(home, bytes)
    })
    const canRun = own.cert.roles.includes('run')
    return {
      mode: 'authority',
      cert: authority.cert,
      admit: async advert => authority.admit(advert),
      isMember: id => authority.isMember(id),
      canDispatch: id => authority.canDispatch(id),
      denied: id => authority.denied(id),
      auth: offerAuth({
        privateKey,
        seen,
        cert: () => authority.cert,
        checkDispatcher: async (cert, from) => canRun ? authority.checkDispatcher(cert, from) : `${name} may not run tasks: its certificate lacks the run role`
      }),
      start: async () => {},
      stop: async () => {}
    }
  }

  /**
   * Failure detection: heartbeats and closed connections feed the detector, which probes suspects;
   * a dead peer shows offline at once so placement skips it until it is heard again.
   */
  private startLiveness (node: MeshLibp2p): void {
    const { log, config, table } = this
    if (config == null || table == null) throw new Error('start order')
    const service = livenessService({
      suspectAfterMs: config.suspectAfterMs,
      probeIntervalMs: config.probeIntervalMs,
      probeTimeoutMs: config.probeTimeoutMs,
      probeFailures: config.probeFailures,
      addresses: id => table.get(id)?.advert.addresses ?? [],
      name: id => table.get(id)?.advert.name
    })({ ping: node.services.ping, events: node, log })
    service.onDead(id => { table.markDown(id) })
    service.start()
    this.liveness = this.livenessInput = service
  }

  /** A revocation list from the CLI or gossip: verify, adopt if newer, pass it on. */
  async adoptRevocations (bytes: Uint8Array): Promise<{ version: number, revoked: string[] }> {
    const authority = this.authority
    if (authority == null) throw new MeshError('this node has no mesh authority configured; a revocation list means nothing to it')
    const verdict = await authority.checkRevocations(bytes)
    if (!verdict.ok) throw new MeshError(`revocation list refused: ${verdict.reason}`)
    const revoked = await authority.adopt(verdict.list, bytes)
    this.trust.revocations = { list: verdict.list, bytes }
    await this.revocationTopic?.publish(bytes)
    return { version: verdict.list.version, revoked }
  }

  private startRevocations (node: MeshLibp2p, privateKey: PrivateKey): void {
    const authority = this.authority
    if (authority == null) return
    const log = this.log
    const topic = this.revocationTopic = revocationsTopic({
      // only the signature is checked here; whether it is newer is decided on adoption, so a peer
      // republishing the current version is not punished by gossipsub scoring
      check: async bytes => {
        const v = await authority.checkRevocations(bytes)
        return v.ok || !v.reason.includes('signature') ? null : v.reason
      },
      onList: bytes => {
        void this.adoptRevocations(bytes).catch((err: unknown) => { log.debug({ component: 'revocations', reason: errorMessage(err) }, 'revocation list not adopted') })
      }
    })({ privateKey, pubsub: node.services.pubsub, log })
    topic.start()
    // nodes that were away missed the last publish; repeat the newest list now and then
    this.revocationTimer = setInterval(() => {
      const held = this.trust.revocations
      if (held != null) void topic.publish(held.bytes)
    }, 30_000)
    this.revocationTimer.unref()
  }

  /**
   * Catch-up: on every new connection (and every minute with one random peer) exchange the signed
   * task records and the revocation list the other side lacks; see src/protocols/sync.
   */
  private async startSync (node: MeshLibp2p): Promise<void> {
    const { records } = this.tasks()
    const membership = this.membership
    const revocations = this.authority == null
      ? undefined
      : {
          version: () => this.trust.revocations?.list.version ?? 0,
          list: () => this.trust.revocations?.bytes,
          adopt: async (bytes: Uint8Array) => { await this.adoptRevocations(bytes) }
        }
    this.syncService = syncProtocol({
      store: records,
      check: recordChecker(signer => membership.isMember(signer)).open,
      authorise: peer => membership.isMember(peer),
      ...(revocations != null ? { revocations } : {})
    })({ node, log: this.log })
    await this.syncService.start()
    // after a partition the connections may have survived: a peer heard again is worth a session
    const service = this.syncService
    this.liveness?.onAlive(peer => { service.soon(peer) })
  }

  /**
   * Enrolment: invites registered by `mesh ca invite --home` (hash of the secret, the grant, and the
   * authority dir whose key signs) are redeemed once over /mesh/join/1.0.0.
   */
  private async startInvites (node: MeshLibp2p): Promise<void> {
    if (this.db == null) throw new Error('start order')
    const book = this.invites = new InviteBook(levelRecordDb(this.db.sublevel<string, string>('invites', {})))
    const authorityDirs = this.inviteAuthorities = levelRecordDb(this.db.sublevel<string, string>('invite-authority', {}))
    this.joinService = serveJoin(async (req, from) => {
      const verdict = await book.redeem(req.secret, from, Date.now())
      if (!verdict.ok) return { status: 'refused', reason: verdict.reason }
      const dir = await authorityDirs.get(hashSecret(req.secret))
      if (dir == null) return { status: 'refused', reason: 'this node no longer holds the authority of that invite' }
      try {
        const authority = await loadAuthority(dir)
        const cert = await issueCertificate(authority, { peerId: from, name: req.name, tags: verdict.grant.tags, roles: verdict.grant.roles, ttlMs: JOIN_CERT_TTL_MS })
        return { status: 'ok', cert: Buffer.from(cert).toString('base64') }
      } catch (err) {
        return { status: 'refused', reason: `the issuer cannot sign: ${errorMessage(err)}` }
      }
    })({ node, log: this.log })
    await this.joinService.start()
  }

  /** `mesh ca invite --home`: remember an invite this node will redeem. */
  async addInvite (secretHash: string, grant: InviteGrant, authorityDir: string): Promise<void> {
    if (this.invites == null || this.inviteAuthorities == null) throw new Error('daemon not started')
    await loadAuthority(authorityDir)
    await this.invites.add(secretHash, grant)
    await this.inviteAuthorities.put(secretHash, authorityDir)
  }

  /** Loads the node key; creates home, key and config on the very first start. */
  private async identity (paths: HomePaths): Promise<PrivateKey> {
    const { opts } = this
    const fresh = !existsSync(paths.key)
    if (fresh) {
      await initHome({ home: opts.home, ...(opts.tags != null ? { tags: opts.tags } : {}), ...(opts.swarmKeyFile != null ? { swarmKeyFile: opts.swarmKeyFile } : {}) })
    } else if (opts.swarmKeyFile != null) {
      await installSwarmKey(opts.swarmKeyFile, paths.swarmKey)
    }
    for (const a of opts.authorities ?? []) await installAuthority(paths.root, a)
    if (opts.cert != null) await installCertificate(paths.root, opts.cert)
    return loadKey(paths.key)
  }

  async stop (): Promise<void> {
    this.stopping ??= this.stopInner()
    return this.stopping
  }

  private async stopInner (): Promise<void> {
    const step = async (what: string, fn: () => Promise<void> | void): Promise<void> => {
      try { await fn() } catch (err) { this.log.warn({ component: 'daemon', err }, `${what} failed during stop`) }
    }
    await step('control socket', async () => this.control?.stop())
    await step('join', async () => this.joinService?.stop())
    clearInterval(this.revocationTimer)
    this.revocationTopic?.stop()
    this.connector?.stop()
    await step('dispatcher', async () => this.parts?.dispatcher.stop())
    await step('runner', async () => this.parts?.runner.stop())
    for (const p of [this.parts?.push, this.parts?.file, this.parts?.logs, this.parts?.cancel]) await step('protocol', async () => p?.stop())
    await step('sync', async () => this.syncService?.stop())
    this.parts?.results.stop()
    await step('liveness', async () => this.liveness?.stop())
    await step('roster', async () => this.rosterService?.stop())
    await step('heartbeat', async () => this.beat?.stop())
    await step('tag adverts', async () => this.tagAdverts?.stop())
    await step('libp2p', async () => this.node?.stop())
    await step('peer table', async () => this.table?.stop())
    await step('database', async () => this.db?.close())
    if (this.running) this.log.info({ component: 'daemon' }, 'mesh daemon stopped')
  }

  private addresses (): string[] {
    return this.node?.getMultiaddrs().map(String) ?? []
  }

  private advertBody (): ReturnType<typeof buildAdvert> {
    if (this.config == null || this.caps == null) throw new Error('daemon not started')
    return buildAdvert({
      name: this.config.name,
      version: meshVersion(),
      tags: this.config.tags,
      addresses: this.addresses(),
      capabilities: this.caps,
      usage: this.usage
    })
  }

  info (): NodeInfo {
    if (this.node == null || this.paths == null || this.caps == null || this.table == null) throw new Error('daemon not started')
    const peers = this.table.list()
    return {
      ...selfEntry(this.node.peerId.toString(), this.advertBody(), new Date()),
      home: this.paths.root,
      pid: process.pid,
      startedAt: this.startedAt.toISOString(),
      swarmKey: this.swarmKey,
      trust: this.membership.mode,
      certificate: this.trust.own == null
        ? null
        : { name: this.trust.own.cert.name, roles: this.trust.own.cert.roles, tags: this.trust.own.cert.tags, notAfter: this.trust.own.cert.notAfter, issuer: this.trust.own.cert.issuer },
      revocationVersion: this.trust.revocations?.list.version ?? 0,
      executors: this.executors,
      connections: this.node.getConnections().length,
      knownPeers: peers.length,
      onlinePeers: peers.filter(p => p.state === 'online').length
    }
  }

  async peers (tag?: string, signal?: AbortSignal): Promise<PeerEntry[]> {
    if (this.node == null || this.table == null || this.tagAdverts == null) throw new Error('daemon not started')
    const self = selfEntry(this.node.peerId.toString(), this.advertBody(), new Date())
    const found = tag == null ? [] : await this.tagAdverts.findPeers(tag, signal != null ? { signal } : {})
    // a provider record proves nothing by itself: in authority mode only members' records count
    const holders = found.filter(h => this.membership.isMember(h.peerId) == null)
    const liveness = this.liveness
    return peerEntries({ self, table: this.table.list(), holders, ...(tag != null ? { tag } : {}), ...(liveness != null ? { liveness: id => liveness.state(id) } : {}) })
  }

  /** `mesh stop`: answer first, then stop, so the CLI gets its reply before the socket closes. */
  requestStop (): void {
    setImmediate(() => { void this.stop().then(() => this.opts.onStopped?.()) })
  }

  tasks (): TaskParts {
    if (this.parts == null) throw new Error('daemon not started')
    return this.parts
  }

  /** Wires task records, result gossip, the runner, the dispatcher and their protocols. */
  private async startTasks (node: MeshLibp2p, privateKey: PrivateKey): Promise<void> {
    const { log } = this
    if (this.db == null || this.paths == null || this.caps == null || this.config == null) throw new Error('start order')
    const self = node.peerId.toString()
    const records = new TaskRecords(cachedRecordDb(levelRecordDb(this.db.sublevel<string, string>('records', {})), RECENT_RECORDS), log, {
      attempts: levelRecordDb(this.db.sublevel<string, string>('attempts', {}))
    })
    await records.load()
    const membership = this.membership
    const results = resultsTopic({
      // a record arriving while the daemon stops may find the database closed: nothing to keep then
      onRecord: (record, envelope) => { records.put(record, envelope).catch((err: unknown) => { log.debug({ component: 'results', reason: errorMessage(err) }, 'record not stored') }) },
      authorise: signer => membership.isMember(signer) })({ privateKey, pubsub: node.services.pubsub, log })
    results.start()
    // sealed once: the same envelope is stored (to relay it on sync) and gossiped
    const publish = async (record: TaskRecord): Promise<void> => {
      const envelope = await results.seal(record).catch((err: unknown) => { log.warn({ component: 'results', task: record.id, reason: errorMessage(err) }, 'record not sealed: kept here, not gossiped'); return undefined })
      await records.put(record, envelope)
      if (envelope != null) await results.publishSealed(envelope)
    }
    const config = this.config
    const runner = new Runner({
      peerId: self,
      name: () => config.name,
      tags: () => config.tags,
      home: this.paths.root,
      capabilities: this.caps,
      usage: this.usage,
      executor: await this.chooseExecutor(),
      records,
      publish,
      capacityChanged: () => {
        this.beat?.publishSoon()
        this.parts?.dispatcher.peerChanged(self)
      },
      journal: syncedJournal(this.db.sublevel<string, string>('runs', {})),
      maxLogBytes: config.maxLogBytes,
      keepTaskDirsMs: config.keepTaskDirsMs,
      maxCacheBytes: config.maxCacheBytes,
      log
    })
    // runners pass staged files on to each other; only members read them
    const file = fileProtocol({ files: { open: async (sha, from) => membership.isMember(from) == null ? runner.openFile(sha) : undefined } })({ node, log })
    const push = pushProtocol({
      handler: runner,
      auth: membership.auth,
      fetch: (peer, sha, size, signal) => file.fetch(peerIdFromString(peer), sha, size, signal)
    })({ node, log })
    // only members read task output
    const logs = logsProtocol({ provider: (id, follow, signal, from) => membership.isMember(from) == null ? runner.logs(id, follow, signal) : undefined })({ node, log })
    const dispatcher = new Dispatcher({
      peerId: self,
      name: () => config.name,
      table: this.table!,
      self: () => runner.candidate(),
      push,
      local: runner,
      auth: membership.auth,
      logs,
      localLogs: (id, follow, signal) => runner.logs(id, follow, signal),
      records,
      publish,
      keep: async record => { await records.put(record) },
      queue: levelRecordDb(this.db.sublevel<string, string>('queue', {})),
      ...(this.liveness != null ? { health: this.liveness } : {}),
      log
    }, { maxQueued: config.maxQueuedTasks })
    const cancel = cancelProtocol({
      handler: async (id, from) => {
        // a task's own dispatcher may cancel it; anyone else needs the dispatch role
        const record = await records.get(id)
        const refused = record?.dispatcher === from ? membership.isMember(from) : membership.canDispatch(from)
        if (refused != null) return { status: 'unknown', message: `cancel refused: ${refused}` }
        if (await dispatcher.cancelQueued(id)) return { status: 'cancelled', message: `task ${id} cancelled while queued` }
        return runner.cancel(id)
      }
    })({ node, log })
    this.parts = { records, results, runner, dispatcher, push, file, logs, cancel }
    // before offers are taken: adopted tasks hold their capacity again
    await runner.recover()
    await file.start()
    await push.start()
    await logs.start()
    await cancel.start()
    await dispatcher.start()
  }

  /** The first configured executor available here; mesh id reports why the others are not. */
  private async chooseExecutor (): Promise<Executor> {
    const { log } = this
    const prefs = this.config?.executors ?? ['process']
    const { executor, skipped } = await selectExecutor(prefs, { log })
    for (const s of skipped) log.warn({ component: 'daemon', executor: s.name, reason: s.reason }, 'executor unavailable')
    this.executors = { using: executor.name, unavailable: skipped }
    // probe the others in the background (`docker info` can take seconds), so `mesh id` can say
    // what this host could offer without delaying start
    const others = (['process', 'systemd', 'container'] as const).filter(n => n !== executor.name && !skipped.some(s => s.name === n))
    void Promise.all(others.map(async name => {
      const a = await createExecutor(name, { log }).available()
      if (!a.ok) this.executors.unavailable.push({ name, reason: a.reason })
    })).catch(() => {})
    return executor
  }

  /** `mesh logs`: see TaskQueries */
  logs (id: string, follow: boolean, signal: AbortSignal): AsyncGenerator<LogsChunk> {
    return this.queries().logs(id, follow, signal)
  }

  /** `mesh status --wait`: see TaskQueries */
  async waitFinal (id: string, signal: AbortSignal): Promise<TaskRecord | TaskRecord[]> {
    return this.queries().waitFinal(id, signal)
  }

  /** `mesh cancel`: see TaskQueries */
  async cancel (id: string): Promise<CancelReply> {
    return this.queries().cancel(id)
  }

  private queries (): TaskQueries {
    this.taskQueries ??= createTaskQueries({ parts: () => this.tasks(), self: () => this.node?.peerId.toString() })
    return this.taskQueries
  }
}

export interface TaskParts {
  records: TaskRecords
  results: Results
  runner: Runner
  dispatcher: Dispatcher
  push: Push
  file: FileProtocol
  logs: Logs
  cancel: Cancel
}

/** The runner's journal: every write fsynced, since "accepted" promises the task survives a crash. */
function syncedJournal (sub: { put: (k: string, v: string, o: object) => Promise<void>, del: (k: string, o: object) => Promise<void>, iterator: () => AsyncIterable<[string, string]> }): RunJournal {
  // classic-level honours `sync` (a sublevel passes options to its parent); the generic typings omit it
  const sync: object = { sync: true }
  return new RunJournal({
    put: async (k, v) => sub.put(k, v, sync),
    del: async k => sub.del(k, sync),
    iterator: () => sub.iterator()
  })
}

function listenError (err: unknown, listen: string[]): Error {
  const text = errorMessage(err)
  const code = errorCode(err)
  if (code === 'EADDRINUSE' || text.includes('EADDRINUSE')) {
    return new MeshError(`cannot listen on ${listen.join(', ')}: address already in use (is another daemon running? pick another port with --listen)`)
  }
  if (code === 'EADDRNOTAVAIL' || text.includes('EADDRNOTAVAIL')) {
    return new MeshError(`cannot listen on ${listen.join(', ')}: no such local address`)
  }
  if (code === 'EACCES' || text.includes('EACCES')) {
    return new MeshError(`cannot listen on ${listen.join(', ')}: permission denied`)
  }
  return new MeshError(`cannot start libp2p on ${listen.join(', ')}: ${text}`, 1, { cause: err })
}

export function createDaemon (opts: DaemonOptions): Daemon {
  return new Daemon(opts)
}
