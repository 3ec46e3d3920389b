import { API_TOKEN_TOUCH_INTERVAL_SECONDS, type ApiTokenInfo, type ApiTokenStore } from '../../domain/ports/api-token-store'
import type {
  CheckedObservation,
  DueForRefreshQuery,
  ConnectionRecord,
  ConnectionRepository,
  DeleteOptions,
  SaveLinkAttemptInput,
  StatusEvent,
  StatusUpdate,
  StatusUpdateOutcome,
} from '../../domain/ports/connection-repository'
import type { ProfilePicture } from '../../domain/whatsapp'
import type { FeatureFlags, FeatureStore } from '../../domain/ports/feature-store'
import type {
  InstanceAllocator,
  InstanceRecord,
  PoolRegistration,
  RegisterInstanceInput,
} from '../../domain/ports/instance-allocator'
import type { MembershipResolver, PrincipalResolution } from '../../domain/ports/user-directory'
import { derivePhase } from '../../domain/whatsapp'
import type { CacheMessage, PgCacheListener } from './pg-cache-listener'
import { TtlCache } from './ttl-cache'

/**
 * The in-process caches that let `GET /api/wa/qr/status` answer without a database round trip
 * (docs/benchmarks.md, docs/decisions/070-071): membership + jti deny-list facts, feature flags and the
 * stored connection row, each invalidated by `wa_cache` NOTIFYs (any process, ops, psql) and
 * by this process's own writes at once, with a short TTL as a safety net.
 */
export class HotPathCaches {
  readonly principals: TtlCache<PrincipalResolution>
  readonly flags: TtlCache<FeatureFlags | null>
  readonly connections: TtlCache<ConnectionRecord | null>
  /** instanceId → time until which the poll lease is known to be taken (this process or another). */
  private readonly leaseBusyUntil = new Map<string, number>()
  private readonly leaseInFlight = new Set<string>()
  /**
   * jti → when this process last bumped its `last_used_at`. The cached facts are marked too, but
   * requests of a burst may hold facts the cache no longer has (an invalidation, another write's
   * NOTIFY, dropped or poisoned them mid-burst): each would see the token stale and touch it.
   */
  private readonly jtiTouchedAt = new Map<string, Date>()

  /**
   * - `ttlMs`: the lifetime of what can change without a NOTIFY: a cached row's `checkedAt`
   *   during a link attempt (bookkeeping writes do not fire the trigger). 0 switches every
   *   cache off.
   * - `notifiedTtlMs` (default `ttlMs`): the lifetime of what every change announces by NOTIFY
   *   (principal facts, flags, a row without a live attempt): only a safety net, so it can be
   *   long enough for a tenant polled every few seconds among thousands to stay cached
   *   (docs/decisions/230).
   * - `linkedRowTtlMs` (default `notifiedTtlMs`): a connected row's `checkedAt` moves on each
   *   reconcile without a NOTIFY; this bounds how far behind another process shows it.
   */
  constructor(opts: {
    ttlMs: number
    notifiedTtlMs?: number
    linkedRowTtlMs?: number
    listener?: Pick<PgCacheListener, 'connected' | 'onMessage' | 'onReset'>
    now?: () => number
  }) {
    const enabled = () => opts.listener?.connected ?? false
    const clock = opts.now ?? Date.now
    const off = opts.ttlMs <= 0
    const notified = off ? 0 : Math.max(opts.ttlMs, opts.notifiedTtlMs ?? opts.ttlMs)
    const linked = Math.min(notified, opts.linkedRowTtlMs ?? notified)
    const base = { ttlMs: notified, enabled, now: clock, maxEntries: 20_000 }
    this.principals = new TtlCache<PrincipalResolution>(base)
    this.flags = new TtlCache<FeatureFlags | null>(base)
    this.connections = new TtlCache<ConnectionRecord | null>({
      ...base,
      ttlOf: (record) => {
        const phase = derivePhase(record, new Date(clock()))
        if (phase === 'linking') return opts.ttlMs
        if (phase === 'connected' || phase === 'degraded') return linked
        return notified
      },
    })
    opts.listener?.onMessage((m) => this.apply(m))
    opts.listener?.onReset(() => this.flush())
  }

  /** Applies one `wa_cache` message. */
  apply(m: CacheMessage): void {
    switch (m.k) {
      case 'all':
        return this.flush()
      case 'features':
        if (m.id === null) return this.flags.flush()
        return this.flags.invalidate(m.id)
      case 'connection':
        if (m.id === null) return this.connections.flush()
        return this.connections.invalidate(m.id)
      case 'membership':
      case 'user':
        if (m.id === null) return this.principals.flush()
        return this.invalidateUser(m.id)
      case 'token':
        if (m.id === null) return this.principals.flush()
        return this.invalidateJti(m.id)
    }
  }

  flush(): void {
    this.principals.flush()
    this.flags.flush()
    this.connections.flush()
    this.leaseBusyUntil.clear()
  }

  invalidateUser(userId: string): void {
    this.principals.invalidateWhere((key) => key.startsWith(`${userId}|`))
  }

  invalidateJti(jti: string): void {
    this.principals.invalidateWhere((key) => key.endsWith(`|${jti}`))
  }

  /**
   * The token's `last_used_at` was just bumped: cached facts say so at once. The entries are
   * changed in place because callers holding one from before the bump must see it too, or a
   * burst of cached requests would fire one UPDATE each before the NOTIFY comes back.
   */
  markJtiUsed(jti: string, at: Date): void {
    this.jtiTouchedAt.delete(jti)
    this.jtiTouchedAt.set(jti, at)
    if (this.jtiTouchedAt.size > 20_000) {
      const oldest = this.jtiTouchedAt.keys().next().value
      if (oldest !== undefined) this.jtiTouchedAt.delete(oldest)
    }
    this.principals.forEachWhere(
      (key) => key.endsWith(`|${jti}`),
      (facts) => {
        facts.tokenLastUsedAt = at
      },
    )
  }

  /** This process bumped the token's `last_used_at` less than `withinMs` before `at`. */
  touchedRecently(jti: string, at: Date, withinMs: number): boolean {
    const touched = this.jtiTouchedAt.get(jti)
    return touched !== undefined && at.getTime() - touched.getTime() < withinMs
  }

  /** Remembers that an instance's poll lease is taken until `until` (ms epoch). */
  markLeaseBusy(instanceId: string, until: number): void {
    this.leaseBusyUntil.set(instanceId, until)
    if (this.leaseBusyUntil.size > 20_000) {
      const oldest = this.leaseBusyUntil.keys().next().value
      if (oldest !== undefined) this.leaseBusyUntil.delete(oldest)
    }
  }

  leaseBusy(instanceId: string, now: number): boolean {
    const until = this.leaseBusyUntil.get(instanceId)
    if (until === undefined) return false
    if (until > now) return true
    this.leaseBusyUntil.delete(instanceId)
    return false
  }

  /** In-process single flight of lease attempts: true when this caller may try the database. */
  beginLeaseAttempt(instanceId: string): boolean {
    if (this.leaseInFlight.has(instanceId)) return false
    this.leaseInFlight.add(instanceId)
    return true
  }

  endLeaseAttempt(instanceId: string): void {
    this.leaseInFlight.delete(instanceId)
  }
}

const principalKey = (i: { userId: string; tenantId: string | null; jti: string | null }) =>
  `${i.userId}|${i.tenantId ?? ''}|${i.jti ?? ''}`

/** The guards' one query, cached per (user, tenant, jti). */
export class CachingMembershipResolver implements MembershipResolver {
  constructor(
    private readonly inner: MembershipResolver,
    private readonly caches: HotPathCaches,
  ) {}

  resolve(input: { userId: string; tenantId: string | null; jti: string | null }): Promise<PrincipalResolution> {
    return this.caches.principals.get(principalKey(input), () => this.inner.resolve(input))
  }
}

/**
 * API-token records: revoking through the app drops the cached facts of that jti at once, and a
 * touch marks them as just used (other processes learn both by NOTIFY).
 */
export class CachingApiTokenStore implements ApiTokenStore {
  constructor(
    private readonly inner: ApiTokenStore,
    private readonly caches: HotPathCaches,
    private readonly now: () => Date = () => new Date(),
  ) {}

  record(input: Parameters<ApiTokenStore['record']>[0]): Promise<void> {
    return this.inner.record(input)
  }

  list(tenantId: string): Promise<ApiTokenInfo[]> {
    return this.inner.list(tenantId)
  }

  async revoke(tenantId: string, jti: string): Promise<boolean> {
    try {
      return await this.inner.revoke(tenantId, jti)
    } finally {
      this.caches.invalidateJti(jti)
    }
  }

  async touch(jti: string): Promise<void> {
    const now = this.now()
    // At most one UPDATE per token per interval from this process, whatever facts its callers held.
    if (this.caches.touchedRecently(jti, now, API_TOKEN_TOUCH_INTERVAL_SECONDS * 1000)) return
    // Before the UPDATE: callers arriving while it runs must not fire their own.
    this.caches.markJtiUsed(jti, now)
    return this.inner.touch(jti)
  }
}

/** Feature flags by tenant. */
export class CachingFeatureStore implements FeatureStore {
  constructor(
    private readonly inner: FeatureStore,
    private readonly caches: HotPathCaches,
  ) {}

  getFlags(tenantId: string): Promise<FeatureFlags | null> {
    return this.caches.flags.get(tenantId, () => this.inner.getFlags(tenantId))
  }

  recordUpgradeRequest(
    input: Parameters<FeatureStore['recordUpgradeRequest']>[0],
  ): ReturnType<FeatureStore['recordUpgradeRequest']> {
    return this.inner.recordUpgradeRequest(input)
  }

  // Writes: the tenant_features trigger tells every process (this one included) to drop the row.
  changeFlags(...args: Parameters<FeatureStore['changeFlags']>): ReturnType<FeatureStore['changeFlags']> {
    return this.inner.changeFlags(...args)
  }

  handleUpgradeRequest(
    ...args: Parameters<FeatureStore['handleUpgradeRequest']>
  ): ReturnType<FeatureStore['handleUpgradeRequest']> {
    return this.inner.handleUpgradeRequest(...args)
  }

  // Read through: the page and the hourly job read it, never the status hot path.
  whatsappEndedAt(tenantId: string): Promise<Date | null> {
    return this.inner.whatsappEndedAt(tenantId)
  }

  endedWhileHoldingInstance(cutoff: Date, limit: number): Promise<string[]> {
    return this.inner.endedWhileHoldingInstance(cutoff, limit)
  }
}

/**
 * The connection repository with this process's writes invalidating the cached row of their
 * tenant at once (read-your-writes; other processes learn by NOTIFY). `cacheReads: true`
 * (status hot path only) also serves `findByTenant` from the cache; use cases that read then
 * write keep reading PostgreSQL (`cacheReads: false`). Every port method is spelled out, so a
 * new write cannot be added to the port without deciding here what it invalidates.
 */
export class CachingConnectionRepository implements ConnectionRepository {
  constructor(
    private readonly inner: ConnectionRepository,
    private readonly caches: HotPathCaches,
    private readonly opts: { cacheReads: boolean },
  ) {}

  findByTenant(tenantId: string): Promise<ConnectionRecord | null> {
    if (!this.opts.cacheReads) return this.inner.findByTenant(tenantId)
    return this.caches.connections.get(tenantId, () => this.inner.findByTenant(tenantId))
  }

  findByInstanceId(instanceId: string): Promise<ConnectionRecord | null> {
    return this.inner.findByInstanceId(instanceId)
  }

  listForReconcile(now: Date): Promise<ConnectionRecord[]> {
    return this.inner.listForReconcile(now)
  }

  /** The background refresher's scan: always PostgreSQL (it must see every process's writes). */
  listDueForRefresh(input: DueForRefreshQuery): Promise<ConnectionRecord[]> {
    return this.inner.listDueForRefresh(input)
  }

  /** History reads: always PostgreSQL (not on the hot path). */
  listStatusEvents(
    tenantId: string,
    query: { limit: number; beforeId?: string },
  ): Promise<{ events: StatusEvent[]; hasMore: boolean }> {
    return this.inner.listStatusEvents(tenantId, query)
  }

  hasBeenAuthorized(tenantId: string): Promise<boolean> {
    return this.inner.hasBeenAuthorized(tenantId)
  }

  /** The history is never cached: nothing to drop. */
  purgeStatusEventsBefore(cutoff: Date): Promise<number> {
    return this.inner.purgeStatusEventsBefore(cutoff)
  }

  /**
   * Bookkeeping only (`status_checked_at`): no cached row is dropped. A cached row shows the
   * same status, its `checkedAt` at most its TTL behind, as in every other process (decision 230).
   */
  recordChecked(checks: ReadonlyArray<CheckedObservation>): Promise<number> {
    return this.inner.recordChecked(checks)
  }

  saveLinkAttempt(input: SaveLinkAttemptInput): Promise<ConnectionRecord> {
    return this.invalidating(input.tenantId, () => this.inner.saveLinkAttempt(input))
  }

  applyStatus(tenantId: string, update: StatusUpdate): Promise<StatusUpdateOutcome> {
    return this.invalidating(tenantId, () => this.inner.applyStatus(tenantId, update))
  }

  recordLinkExpired(tenantId: string, at: Date): Promise<boolean> {
    return this.invalidating(tenantId, () => this.inner.recordLinkExpired(tenantId, at))
  }

  delete(tenantId: string, at: Date, options?: DeleteOptions): Promise<ConnectionRecord | null> {
    return this.invalidating(tenantId, () => this.inner.delete(tenantId, at, options))
  }

  recordProfile(
    tenantId: string,
    input: { phone: string; name: string | null; picture: ProfilePicture | null; at: Date },
  ): Promise<StatusUpdateOutcome> {
    return this.invalidating(tenantId, () => this.inner.recordProfile(tenantId, input))
  }

  /** Not cached: the picture's own route, with its ETag (decision 240). */
  findProfilePicture(tenantId: string): Promise<ProfilePicture | null> {
    return this.inner.findProfilePicture(tenantId)
  }

  recordWrongNumber(
    tenantId: string,
    input: Parameters<ConnectionRepository['recordWrongNumber']>[1],
  ): Promise<StatusUpdateOutcome> {
    return this.invalidating(tenantId, () => this.inner.recordWrongNumber(tenantId, input))
  }

  /** Read through: the page reads it, never the status hot path. */
  lastLinkedPhone(tenantId: string): Promise<string | null> {
    return this.inner.lastLinkedPhone(tenantId)
  }

  /** Also on failure: a write that failed half-way (or timed out after committing) may have changed the row. */
  private async invalidating<T>(tenantId: string, write: () => Promise<T>): Promise<T> {
    try {
      return await write()
    } finally {
      this.caches.connections.invalidate(tenantId)
    }
  }
}

/**
 * The instance allocator with an in-process memo of the poll lease: while this process knows
 * the lease of an instance is taken (it took it, or lost it to another process, less than `ms`
 * ago) it answers "no" without asking PostgreSQL, and concurrent local callers share one
 * attempt. The database lease stays the cross-process authority: this only removes round trips
 * that would lose. Every other method goes straight to the inner allocator.
 */
export class MemoizedPollLeaseAllocator implements InstanceAllocator {
  constructor(
    private readonly inner: InstanceAllocator,
    private readonly caches: HotPathCaches,
    private readonly now: () => number = Date.now,
  ) {}

  async tryAcquirePollLease(instanceId: string, minIntervalMs: number): Promise<boolean> {
    if (this.caches.leaseBusy(instanceId, this.now())) return false
    if (!this.caches.beginLeaseAttempt(instanceId)) return false
    // The lease's interval runs from when it was asked for, as in PostgreSQL: counted from the
    // answer, the round trip would stretch every interval (1.1 s attempts came 1.2–1.4 s apart).
    const askedAt = this.now()
    try {
      const won = await this.inner.tryAcquirePollLease(instanceId, minIntervalMs)
      this.caches.markLeaseBusy(instanceId, askedAt + minIntervalMs)
      return won
    } finally {
      this.caches.endLeaseAttempt(instanceId)
    }
  }

  /** The batch form: ids known busy here are not asked for; the answer marks every asked id busy. */
  async tryAcquirePollLeases(instanceIds: readonly string[], minIntervalMs: number): Promise<Set<string>> {
    const askedAt = this.now()
    const ask = [...new Set(instanceIds)].filter((id) => !this.caches.leaseBusy(id, askedAt) && this.caches.beginLeaseAttempt(id))
    if (ask.length === 0) return new Set()
    try {
      const won = await this.inner.tryAcquirePollLeases(ask, minIntervalMs)
      for (const id of ask) this.caches.markLeaseBusy(id, askedAt + minIntervalMs)
      return won
    } finally {
      for (const id of ask) this.caches.endLeaseAttempt(id)
    }
  }

  findClaimedBy(tenantId: string): Promise<InstanceRecord | null> {
    return this.inner.findClaimedBy(tenantId)
  }

  findById(instanceId: string): Promise<InstanceRecord | null> {
    return this.inner.findById(instanceId)
  }

  claimById(instanceId: string, tenantId: string, at: Date): Promise<InstanceRecord> {
    return this.inner.claimById(instanceId, tenantId, at)
  }

  claimFirstFree(mode: 'pool' | 'simulator', tenantId: string, at: Date): Promise<InstanceRecord> {
    return this.inner.claimFirstFree(mode, tenantId, at)
  }

  registerClaimed(
    input: RegisterInstanceInput & { tenantId: string; encryptedWebhookToken: string | null; at: Date },
  ): Promise<InstanceRecord> {
    return this.inner.registerClaimed(input)
  }

  register(input: RegisterInstanceInput): Promise<InstanceRecord> {
    return this.inner.register(input)
  }

  registerPool(input: Omit<RegisterInstanceInput, 'mode'>, options: { replace: boolean }): Promise<PoolRegistration> {
    return this.inner.registerPool(input, options)
  }

  setWebhookToken(instanceId: string, tenantId: string, encryptedWebhookToken: string): Promise<void> {
    return this.inner.setWebhookToken(instanceId, tenantId, encryptedWebhookToken)
  }

  release(instanceId: string, tenantId: string, options?: { needsLogout?: boolean }): Promise<void> {
    return this.inner.release(instanceId, tenantId, options)
  }

  takeDueQuarantined(at: Date, leaseUntil: Date): Promise<InstanceRecord | null> {
    return this.inner.takeDueQuarantined(at, leaseUntil)
  }

  recordLogoutFailure(instanceId: string): Promise<number> {
    return this.inner.recordLogoutFailure(instanceId)
  }

  scheduleLogoutRetry(instanceId: string, next: { retryAt: Date } | { brokenAt: Date }): Promise<void> {
    return this.inner.scheduleLogoutRetry(instanceId, next)
  }

  clearQuarantine(instanceId: string): Promise<void> {
    return this.inner.clearQuarantine(instanceId)
  }

  markLoggedOut(instanceId: string, tenantId: string): Promise<void> {
    return this.inner.markLoggedOut(instanceId, tenantId)
  }

  remove(instanceId: string, tenantId: string): Promise<void> {
    return this.inner.remove(instanceId, tenantId)
  }
}
