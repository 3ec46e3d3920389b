import { describe, expect, it } from 'vitest'
import {
  CachingApiTokenStore,
  CachingConnectionRepository,
  CachingMembershipResolver,
  HotPathCaches,
} from '../../adapters/cache/hot-path-cache'
import { KyselyApiTokenStore } from '../../adapters/kysely/kysely-auth-api-tokens'
import { KyselyMembershipResolver } from '../../adapters/kysely/kysely-auth-users'
import { KyselyConnectionRepository } from '../../adapters/kysely/kysely-connection-repository'
import type { ConnectionRepository } from '../../domain/ports/connection-repository'
import { addMember, createInstance, createTenant, createUser } from '../factories'
import { recordedToken } from '../utils/auth-fixtures'
import { testDb } from '../utils/db'

/**
 * Read-your-writes of the hot-path caches on PostgreSQL. The listener here is connected but
 * silent (no NOTIFY ever arrives), so what a test sees after a write is only what this
 * process's own write invalidated.
 */
function silentCaches(): HotPathCaches {
  return new HotPathCaches({ ttlMs: 60_000, listener: { connected: true, onMessage() {}, onReset() {} } })
}

const T0 = new Date('2026-11-25T10:00:00.000Z')
const at = (s: number) => new Date(T0.getTime() + s * 1000)

/** The two views the composition root builds over one repository: the status route's (cached reads) and the use cases'. */
async function cachedConnections() {
  const caches = silentCaches()
  const kysely = new KyselyConnectionRepository(testDb())
  const status = new CachingConnectionRepository(kysely, caches, { cacheReads: true })
  const useCases = new CachingConnectionRepository(kysely, caches, { cacheReads: false })
  const tenant = await createTenant({ whatsappEnabled: true })
  const instance = await createInstance({ mode: 'pool', tenantId: tenant.id })
  const link = {
    tenantId: tenant.id,
    instanceId: instance.id,
    encryptedConfig: 'v1.k1.ciphertext',
    linkStartedAt: T0,
    linkExpiresAt: at(300),
  }
  return { caches, status, useCases, tenant, instance, link }
}

type Link = Parameters<ConnectionRepository['saveLinkAttempt']>[0]

/** Each write of the port, on a row in the state it applies to. */
const writes: Array<{
  name: string
  before?: (repo: ConnectionRepository, link: Link) => Promise<unknown>
  write: (repo: ConnectionRepository, link: Link) => Promise<unknown>
}> = [
  { name: 'saveLinkAttempt', write: (repo, link) => repo.saveLinkAttempt(link) },
  {
    name: 'applyStatus',
    before: (repo, link) => repo.saveLinkAttempt(link),
    write: (repo, link) =>
      repo.applyStatus(link.tenantId, {
        status: 'authorized',
        account: { phone: '+33612345678' },
        checkedAt: at(10),
        source: 'webhook',
      }),
  },
  {
    name: 'recordLinkExpired',
    before: (repo, link) => repo.saveLinkAttempt({ ...link, linkExpiresAt: at(1) }),
    write: (repo, link) => repo.recordLinkExpired(link.tenantId, at(400)),
  },
  {
    name: 'delete',
    before: (repo, link) => repo.saveLinkAttempt(link),
    write: (repo, link) => repo.delete(link.tenantId, at(20)),
  },
]

/** A change behind the caches' back (no NOTIFY arrives here): tells a cached row from a fresh one. */
const changeBehindTheCache = (tenantId: string) =>
  testDb()
    .updateTable('tenant_provider_configs')
    .set({ phone_number: '+33700000000' })
    .where('tenant_id', '=', tenantId)
    .execute()

describe('hot-path caches: this process sees its own writes at once', () => {
  it.each(writes)('$name through the use cases’ repository drops the status route’s cached row', async ({ before, write }) => {
    const { status, useCases, link, caches } = await cachedConnections()
    if (before) await before(useCases, link)
    const cached = await status.findByTenant(link.tenantId)
    await changeBehindTheCache(link.tenantId)
    expect(await status.findByTenant(link.tenantId)).toEqual(cached) // served from the cache

    await write(useCases, link)
    const misses = caches.connections.stats.misses
    const seen = await status.findByTenant(link.tenantId)
    expect(caches.connections.stats.misses).toBe(misses + 1)
    expect(seen).toEqual(await new KyselyConnectionRepository(testDb()).findByTenant(link.tenantId))
  })

  it('a write that fails still drops the cached row (it may have committed before failing)', async () => {
    const { status, useCases, link } = await cachedConnections()
    await useCases.saveLinkAttempt(link)
    expect(await status.findByTenant(link.tenantId)).toMatchObject({ instanceId: link.instanceId })
    // Another tenant's instance: refused (InstanceBusyError) after our row was read.
    const other = await createTenant({ whatsappEnabled: true })
    const busy = await createInstance({ mode: 'pool', tenantId: other.id })
    await new KyselyConnectionRepository(testDb()).saveLinkAttempt({ ...link, tenantId: other.id, instanceId: busy.id })
    await changeBehindTheCache(link.tenantId)
    await expect(useCases.saveLinkAttempt({ ...link, instanceId: busy.id })).rejects.toThrow()
    expect(await status.findByTenant(link.tenantId)).toMatchObject({ account: { phone: '+33700000000' } })
  })

  it('revoking an app token through the app refuses it at once; a touch marks it used without a reload', async () => {
    const caches = silentCaches()
    const db = testDb()
    const resolver = new CachingMembershipResolver(new KyselyMembershipResolver(db), caches)
    const tokens = new CachingApiTokenStore(new KyselyApiTokenStore(db), caches)
    const tenant = await createTenant({ whatsappEnabled: true })
    const user = await createUser()
    await addMember(tenant, user, 'owner')
    const { jti } = await recordedToken(db, user.id, tenant.id)
    const who = { userId: user.id, tenantId: tenant.id, jti }

    const first = await resolver.resolve(who)
    expect(first).toMatchObject({ revoked: false, tokenTenantId: tenant.id, tokenLastUsedAt: null })
    await tokens.touch(jti)
    const misses = caches.principals.stats.misses
    expect((await resolver.resolve(who)).tokenLastUsedAt).toBeInstanceOf(Date)
    expect(caches.principals.stats.misses).toBe(misses)

    expect(await tokens.revoke(tenant.id, jti)).toBe(true)
    expect(await resolver.resolve(who)).toMatchObject({ revoked: true })
  })

  it('requests holding facts the cache dropped mid-burst (an invalidation) do not touch again: one UPDATE', async () => {
    const caches = silentCaches()
    const db = testDb()
    const resolver = new CachingMembershipResolver(new KyselyMembershipResolver(db), caches)
    const inner = new KyselyApiTokenStore(db)
    let updates = 0
    const counting = Object.assign(Object.create(inner) as KyselyApiTokenStore, {
      touch: async (jti: string) => {
        updates++
        await inner.touch(jti)
      },
    })
    const tokens = new CachingApiTokenStore(counting, caches)
    const tenant = await createTenant({ whatsappEnabled: true })
    const user = await createUser()
    await addMember(tenant, user, 'owner')
    const { jti } = await recordedToken(db, user.id, tenant.id)
    const who = { userId: user.id, tenantId: tenant.id, jti }

    // Two requests hold the same stale facts; another write's NOTIFY drops them from the cache.
    const [a, b] = await Promise.all([resolver.resolve(who), resolver.resolve(who)])
    caches.invalidateJti(jti)
    expect(a.tokenLastUsedAt).toBeNull()
    await tokens.touch(jti)
    expect(b.tokenLastUsedAt).toBeNull() // not in the cache any more: nobody marked it
    await tokens.touch(jti)
    expect(updates).toBe(1)
  })
})
