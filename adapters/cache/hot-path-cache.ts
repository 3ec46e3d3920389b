import type { ApiTokenStore } from '../../domain/ports/api-token-store'
import type { ConnectionRecord, ConnectionRepository } from '../../domain/ports/connection-repository'
import type { FeatureFlags, FeatureStore } from '../../domain/ports/feature-store'
import type { InstanceAllocator } from '../../domain/ports/instance-allocator'
import type { MembershipResolver, PrincipalResolution } from '../../domain/ports/user-directory'
import type { CacheMessage, PgCacheListener } from './pg-cache-listener'
import { TtlCache } from './ttl-cache'

/**
 * The in-process caches that let `GET /api/wa/qr/status` answer without a database round trip
 * (SPEC §10, docs/decisions/070-071): membership + jti deny-list facts, feature flags and the
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

  constructor(
    opts: { ttlMs: number; listener?: PgCacheListener; now?: () => number },
  ) {
    const enabled = () => opts.listener?.connected ?? false
    const base = { ttlMs: opts.ttlMs, enabled, ...(opts.now ? { now: opts.now } : {}) }
    this.principals = new TtlCache<PrincipalResolution>({ ...base, maxEntries: 20_000 })
    this.flags = new TtlCache<FeatureFlags | null>({ ...base, maxEntries: 20_000 })
    this.connections = new TtlCache<ConnectionRecord | null>({ ...base, maxEntries: 20_000 })
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

/** Mirrors the guard's "touch when older than 60 s" (app/utils/guards.server.ts). */
const TOKEN_TOUCH_INTERVAL_MS = 60_000

const principalKey = (i: { userId: string; tenantId: string | null; jti: string | null }) =>
  `${i.userId}|${i.tenantId ?? ''}|${i.jti ?? ''}`

/** The guards' one query, cached per (user, tenant, jti). */
export class CachingMembershipResolver implements MembershipResolver {
  constructor(
    private readonly inner: MembershipResolver,
    private readonly caches: HotPathCaches,
  ) {}

  async resolve(input: { userId: string; tenantId: string | null; jti: string | null }): Promise<PrincipalResolution> {
    const r = await this.caches.principals.get(principalKey(input), () => this.inner.resolve(input))
    // The guard touches an app token's last_used_at when it is older than a minute. Hand the
    // stale value to ONE caller (who touches) and mark the shared entry as just used, so a
    // burst of cached requests does not fire one UPDATE each before the NOTIFY comes back.
    const last = r.tokenLastUsedAt
    if (input.jti && r.tokenTenantId !== null && (!last || Date.now() - last.getTime() > TOKEN_TOUCH_INTERVAL_MS)) {
      const forThisCaller = { ...r }
      r.tokenLastUsedAt = new Date()
      return forThisCaller
    }
    return r
  }
}

/** Revoking through the app drops the cached facts of that jti at once (others learn by NOTIFY). */
export function invalidatingApiTokens(inner: ApiTokenStore, caches: HotPathCaches): ApiTokenStore {
  return new Proxy(inner, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown
      if (typeof value !== 'function') return value
      if (prop === 'revoke') {
        return async (tenantId: string, jti: string) => {
          try {
            return await (value as ApiTokenStore['revoke']).call(target, tenantId, jti)
          } finally {
            caches.invalidateJti(jti)
          }
        }
      }
      return (value as (...a: unknown[]) => unknown).bind(target)
    },
  })
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

  recordUpgradeRequest(input: Parameters<FeatureStore['recordUpgradeRequest']>[0]): ReturnType<FeatureStore['recordUpgradeRequest']> {
    return this.inner.recordUpgradeRequest(input)
  }

  // Writes: the tenant_features trigger tells every process (this one included) to drop the row.
  changeFlags(...args: Parameters<FeatureStore['changeFlags']>): ReturnType<FeatureStore['changeFlags']> {
    return this.inner.changeFlags(...args)
  }

  handleUpgradeRequest(...args: Parameters<FeatureStore['handleUpgradeRequest']>): ReturnType<FeatureStore['handleUpgradeRequest']> {
    return this.inner.handleUpgradeRequest(...args)
  }
}

const WRITES = new Set(['saveLinkAttempt', 'applyStatus', 'recordLinkExpired', 'delete'])

/**
 * The connection repository with this process's writes invalidating the cached row of their
 * tenant at once. `cacheReads: true` (status hot path only) also serves `findByTenant` from the
 * cache; use cases that read-then-write keep reading through (`cacheReads: false`).
 */
export function cachingConnections(inner: ConnectionRepository, caches: HotPathCaches, opts: { cacheReads: boolean }): ConnectionRepository {
  return new Proxy(inner, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown
      if (typeof value !== 'function') return value
      const fn = value as (...a: unknown[]) => Promise<unknown>
      if (prop === 'findByTenant' && opts.cacheReads) {
        return (tenantId: string) => caches.connections.get(tenantId, () => inner.findByTenant(tenantId))
      }
      if (typeof prop === 'string' && WRITES.has(prop)) {
        return async (...args: unknown[]) => {
          const tenantId = (args[0] as { tenantId?: string } | string | undefined)
          const key = typeof tenantId === 'string' ? tenantId : tenantId?.tenantId
          try {
            return await fn.apply(target, args)
          } finally {
            if (key) caches.connections.invalidate(key)
          }
        }
      }
      return fn.bind(target)
    },
  })
}

/**
 * The poll lease with an in-process memo: while this process knows the lease of an instance is
 * taken (it took it, or lost it to another process, less than `ms` ago) it answers "no"
 * without asking PostgreSQL, and concurrent local callers share one attempt. The database
 * lease stays the cross-process authority: this only removes round trips that would lose.
 */
export function memoizedPollLease(inner: InstanceAllocator, caches: HotPathCaches, now: () => number = Date.now): InstanceAllocator {
  return new Proxy(inner, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown
      if (typeof value !== 'function') return value
      if (prop === 'tryAcquirePollLease') {
        return async (instanceId: string, ms: number) => {
          if (caches.leaseBusy(instanceId, now())) return false
          if (!caches.beginLeaseAttempt(instanceId)) return false
          try {
            const won = await inner.tryAcquirePollLease(instanceId, ms)
            caches.markLeaseBusy(instanceId, now() + ms)
            return won
          } finally {
            caches.endLeaseAttempt(instanceId)
          }
        }
      }
      return (value as (...a: unknown[]) => unknown).bind(target)
    },
  })
}
