import { sql } from 'kysely'
import { beforeEach, describe, expect, it } from 'vitest'
import { KyselyConnectionRepository } from '../../adapters/kysely/kysely-connection-repository'
import { KyselyFeatureStore } from '../../adapters/kysely/kysely-feature-store'
import { KyselyInstanceAllocator } from '../../adapters/kysely/kysely-instance-allocator'
import { KyselyRateLimiter } from '../../adapters/kysely/kysely-rate-limiter'
import type { ConnectionRepository } from '../../domain/ports/connection-repository'
import type { FeatureStore } from '../../domain/ports/feature-store'
import type { InstanceAllocator, InstanceMode } from '../../domain/ports/instance-allocator'
import type { RateLimiter } from '../../domain/ports/rate-limiter'
import { InMemoryConnectionRepository } from '../../domain/testing/in-memory-connection-repository'
import { InMemoryFeatureStore } from '../../domain/testing/in-memory-feature-store'
import { InMemoryInstanceAllocator } from '../../domain/testing/in-memory-instance-allocator'
import { InMemoryRateLimiter, ManualClock } from '../../domain/testing/small-port-fakes'
import { InstanceBusyError, NoInstanceAvailableError, UpstreamUnavailableError } from '../../domain/whatsapp/whatsapp.errors'
import { createTenant, uniqueDigits } from '../factories'
import { testDb } from '../utils/db'

/**
 * One suite per storage port, run against every implementation (as Kysely's own tests loop
 * over DIALECTS): the in-memory fakes the domain's unit tests trust, and the Kysely adapters
 * on this file's real PostgreSQL. A fake that drifts from its adapter makes unit tests prove
 * things the app does not do; here it fails.
 */
interface World {
  connections: ConnectionRepository
  instances: InstanceAllocator
  features: FeatureStore
  limiter: RateLimiter
  clock: ManualClock
  /** A tenant the storage accepts (a `tenants` row in PostgreSQL), its flags set. */
  newTenant(flags?: { whatsappEnabled?: boolean }): Promise<string>
  /** The tenant's status timeline, oldest first. */
  timeline(tenantId: string): Promise<Array<{ from: string | null; to: string; source: string }>>
}

const WORLDS: Array<{ name: string; create(): Promise<World> }> = [
  {
    name: 'in-memory fakes (domain/testing)',
    async create() {
      const clock = new ManualClock()
      const connections = new InMemoryConnectionRepository()
      const features = new InMemoryFeatureStore(clock)
      const instances = new InMemoryInstanceAllocator(clock)
      features.holdsInstance = async (tenantId) =>
        Boolean(await connections.findByTenant(tenantId)) || Boolean(await instances.findClaimedBy(tenantId))
      return {
        connections,
        instances,
        features,
        limiter: new InMemoryRateLimiter(clock),
        clock,
        async newTenant(flags = {}) {
          const id = `t-mem-${uniqueDigits()}`
          features.setFlags(id, { whatsapp_enabled: flags.whatsappEnabled ?? false })
          return id
        },
        async timeline(tenantId) {
          return connections.timeline.filter((e) => e.tenantId === tenantId).map(({ from, to, source }) => ({ from, to, source }))
        },
      }
    },
  },
  {
    name: 'Kysely adapters on PostgreSQL',
    async create() {
      const db = testDb()
      // This file's own database: every test starts from an empty instance pool (claimFirstFree
      // looks at the whole table).
      await sql`TRUNCATE wa_instances, tenant_provider_configs, wa_status_events, rate_limit_windows CASCADE`.execute(db)
      const clock = new ManualClock()
      return {
        connections: new KyselyConnectionRepository(db),
        instances: new KyselyInstanceAllocator(db),
        features: new KyselyFeatureStore(db),
        limiter: new KyselyRateLimiter(db, { clock }),
        clock,
        async newTenant(flags = {}) {
          return (await createTenant({ whatsappEnabled: flags.whatsappEnabled ?? false })).id
        },
        async timeline(tenantId) {
          const rows = await db
            .selectFrom('wa_status_events')
            .select(['from_status', 'to_status', 'source'])
            .where('tenant_id', '=', tenantId)
            .orderBy('id')
            .execute()
          return rows.map((r) => ({ from: r.from_status, to: r.to_status, source: r.source }))
        },
      }
    },
  },
]

const T0 = new Date('2026-11-25T10:00:00.000Z')
const at = (s: number) => new Date(T0.getTime() + s * 1000)

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p
  } catch (e) {
    return e
  }
  throw new Error('expected a rejection')
}

describe.each(WORLDS)('storage ports: $name', ({ create }) => {
  let w: World
  beforeEach(async () => {
    w = await create()
  })

  async function freeInstance(mode: InstanceMode = 'pool'): Promise<string> {
    const id = uniqueDigits()
    await w.instances.register({
      id,
      mode,
      apiUrl: `https://${id.slice(0, 4)}.api.greenapi.test`,
      encryptedToken: `v1.test.${id}`,
    })
    return id
  }

  /** A tenant with a claimed instance and a link attempt started at T0 (expires at +300 s). */
  async function linking() {
    const tenantId = await w.newTenant({ whatsappEnabled: true })
    const instanceId = await freeInstance()
    await w.instances.claimById(instanceId, tenantId, T0)
    const record = await w.connections.saveLinkAttempt({
      tenantId,
      instanceId,
      encryptedConfig: 'v1.k1.ciphertext',
      linkStartedAt: T0,
      linkExpiresAt: at(300),
    })
    return { tenantId, instanceId, record }
  }

  describe('ConnectionRepository', () => {
    it('the first link attempt creates the row (notAuthorized, one `link` entry); the next updates it', async () => {
      const { tenantId, instanceId, record } = await linking()
      expect(record).toEqual({
        tenantId,
        instanceId,
        encryptedConfig: 'v1.k1.ciphertext',
        status: 'notAuthorized',
        isActive: false,
        account: null,
        linkStartedAt: T0,
        linkExpiresAt: at(300),
        statusChangedAt: T0,
        statusCheckedAt: null,
        lastEventAt: null,
      })
      const again = await w.connections.saveLinkAttempt({
        tenantId,
        instanceId,
        encryptedConfig: 'v1.k2.other',
        linkStartedAt: at(60),
        linkExpiresAt: at(360),
      })
      expect(again).toEqual({ ...record, encryptedConfig: 'v1.k2.other', linkStartedAt: at(60), linkExpiresAt: at(360) })
      expect(await w.connections.findByTenant(tenantId)).toEqual(again)
      expect(await w.connections.findByInstanceId(instanceId)).toEqual(again)
      expect(await w.timeline(tenantId)).toEqual([{ from: null, to: 'notAuthorized', source: 'link' }])
    })

    it("an instance in another tenant's row is busy", async () => {
      const { instanceId } = await linking()
      const other = await w.newTenant({ whatsappEnabled: true })
      expect(
        await rejection(
          w.connections.saveLinkAttempt({
            tenantId: other,
            instanceId,
            encryptedConfig: 'x',
            linkStartedAt: T0,
            linkExpiresAt: at(300),
          }),
        ),
      ).toBeInstanceOf(InstanceBusyError)
      expect(await w.connections.findByTenant(other)).toBeNull()
    })

    it('applyStatus: a change writes and appends; the same answer only moves the check time; an older event is stale; no row is missing', async () => {
      const { tenantId } = await linking()
      const linked = await w.connections.applyStatus(tenantId, {
        status: 'authorized',
        account: { phone: '+33612345678' },
        checkedAt: at(10),
        source: 'webhook',
        eventAt: at(9),
      })
      expect(linked.outcome).toBe('changed')
      const record = (await w.connections.findByTenant(tenantId))!
      expect(record).toMatchObject({
        status: 'authorized',
        isActive: true,
        account: { phone: '+33612345678' },
        statusChangedAt: at(10),
        statusCheckedAt: at(10),
        lastEventAt: at(9),
        linkExpiresAt: null,
      })

      const same = await w.connections.applyStatus(tenantId, { status: 'authorized', checkedAt: at(20), source: 'poll' })
      expect(same).toEqual({ outcome: 'unchanged', record: { ...record, statusCheckedAt: at(20) } })

      const stale = await w.connections.applyStatus(tenantId, {
        status: 'notAuthorized',
        checkedAt: at(30),
        source: 'webhook',
        eventAt: at(5),
      })
      expect(stale).toEqual({ outcome: 'stale', record: { ...record, statusCheckedAt: at(20) } })

      // A new phone on the same status: changed, but no timeline entry (the status did not move).
      const phone = await w.connections.applyStatus(tenantId, {
        status: 'authorized',
        account: { phone: '+33698765432' },
        checkedAt: at(40),
        source: 'poll',
      })
      expect(phone.outcome).toBe('changed')
      expect(await w.timeline(tenantId)).toEqual([
        { from: null, to: 'notAuthorized', source: 'link' },
        { from: 'notAuthorized', to: 'authorized', source: 'webhook' },
      ])
      expect(
        await w.connections.applyStatus(await w.newTenant(), { status: 'authorized', checkedAt: at(1), source: 'poll' }),
      ).toEqual({ outcome: 'missing' })
    })

    it('an expired attempt is recorded once per attempt; a new attempt may expire again', async () => {
      const { tenantId, instanceId } = await linking()
      expect(await w.connections.recordLinkExpired(tenantId, at(301))).toBe(true)
      expect(await w.connections.recordLinkExpired(tenantId, at(302))).toBe(false)
      await w.connections.saveLinkAttempt({
        tenantId,
        instanceId,
        encryptedConfig: 'x',
        linkStartedAt: at(400),
        linkExpiresAt: at(700),
      })
      expect(await w.connections.recordLinkExpired(tenantId, at(701))).toBe(true)
      expect(await w.connections.recordLinkExpired(await w.newTenant(), at(1))).toBe(false)
      expect((await w.timeline(tenantId)).map((e) => e.source)).toEqual(['link', 'expire', 'expire'])
    })

    it('delete returns the row once and appends `disconnect`; a second delete is null', async () => {
      const { tenantId, record } = await linking()
      expect(await w.connections.delete(tenantId, at(50))).toEqual(record)
      expect(await w.connections.delete(tenantId, at(51))).toBeNull()
      expect(await w.connections.findByTenant(tenantId)).toBeNull()
      expect(await w.timeline(tenantId)).toEqual([
        { from: null, to: 'notAuthorized', source: 'link' },
        { from: 'notAuthorized', to: 'notAuthorized', source: 'disconnect' },
      ])
    })

    it('listForReconcile: rows not notAuthorized, or with a link attempt still running', async () => {
      const running = await linking()
      const expired = await linking()
      const connected = await linking()
      await w.connections.applyStatus(connected.tenantId, {
        status: 'authorized',
        account: { phone: '+33612345678' },
        checkedAt: at(5),
        source: 'poll',
      })
      const listed = (await w.connections.listForReconcile(at(100))).map((r) => r.tenantId)
      expect(listed.sort()).toEqual([running.tenantId, expired.tenantId, connected.tenantId].sort())
      const later = (await w.connections.listForReconcile(at(301))).map((r) => r.tenantId)
      expect(later).toEqual([connected.tenantId])
    })
  })

  describe('InstanceAllocator', () => {
    it('register adds a free instance and updates it in place (a claim survives)', async () => {
      const id = await freeInstance('pool')
      expect(await w.instances.findById(id)).toEqual({
        id,
        mode: 'pool',
        apiUrl: `https://${id.slice(0, 4)}.api.greenapi.test`,
        encryptedToken: `v1.test.${id}`,
        encryptedWebhookToken: null,
        tenantId: null,
        claimedAt: null,
        needsLogout: false,
      })
      const tenantId = await w.newTenant()
      await w.instances.claimById(id, tenantId, T0)
      const updated = await w.instances.register({
        id,
        mode: 'pool',
        apiUrl: 'https://9999.api.greenapi.test',
        encryptedToken: 'v1.test.rotated',
      })
      expect(updated).toMatchObject({
        apiUrl: 'https://9999.api.greenapi.test',
        encryptedToken: 'v1.test.rotated',
        tenantId,
        claimedAt: T0,
      })
    })

    it('registerPool: adds, keeps a known one without replace, replaces an unclaimed pool one, refuses other modes and claims', async () => {
      const id = uniqueDigits()
      const url = (n: string) => `https://${n}.api.greenapi.test`
      expect(await w.instances.registerPool({ id, apiUrl: url('1'), encryptedToken: 'v1.test.a' }, { replace: false })).toEqual({
        outcome: 'added',
      })
      expect(await w.instances.findById(id)).toMatchObject({
        mode: 'pool',
        apiUrl: url('1'),
        encryptedToken: 'v1.test.a',
        tenantId: null,
      })
      expect(await w.instances.registerPool({ id, apiUrl: url('2'), encryptedToken: 'v1.test.b' }, { replace: false })).toEqual({
        outcome: 'exists',
      })
      expect(await w.instances.findById(id)).toMatchObject({ apiUrl: url('1'), encryptedToken: 'v1.test.a' })
      expect(await w.instances.registerPool({ id, apiUrl: url('2'), encryptedToken: 'v1.test.b' }, { replace: true })).toEqual({
        outcome: 'replaced',
      })
      expect(await w.instances.findById(id)).toMatchObject({ mode: 'pool', apiUrl: url('2'), encryptedToken: 'v1.test.b' })

      const tenantId = await w.newTenant()
      await w.instances.claimById(id, tenantId, T0)
      expect(await w.instances.registerPool({ id, apiUrl: url('3'), encryptedToken: 'v1.test.c' }, { replace: true })).toEqual({
        outcome: 'refused',
        reason: 'claimed',
        tenantId,
      })
      const simulated = await freeInstance('simulator')
      expect(
        await w.instances.registerPool({ id: simulated, apiUrl: url('4'), encryptedToken: 'v1.test.d' }, { replace: true }),
      ).toEqual({ outcome: 'refused', reason: 'not_pool', mode: 'simulator' })
      expect(await w.instances.findById(id)).toMatchObject({ apiUrl: url('2'), encryptedToken: 'v1.test.b', tenantId })
      expect(await w.instances.findById(simulated)).toMatchObject({
        mode: 'simulator',
        apiUrl: `https://${simulated.slice(0, 4)}.api.greenapi.test`,
      })
    })

    it('claimById: one instance per tenant and one tenant per instance', async () => {
      const a = await freeInstance()
      const b = await freeInstance()
      const t1 = await w.newTenant()
      const t2 = await w.newTenant()
      expect(await w.instances.claimById(a, t1, T0)).toMatchObject({ id: a, tenantId: t1, claimedAt: T0 })
      // The tenant's existing claim wins over the one asked for.
      expect((await w.instances.claimById(b, t1, at(1))).id).toBe(a)
      expect(await rejection(w.instances.claimById(a, t2, at(2)))).toBeInstanceOf(InstanceBusyError)
      expect(await rejection(w.instances.claimById('404404404', t2, at(2)))).toBeInstanceOf(NoInstanceAvailableError)
      expect(await w.instances.findClaimedBy(t1)).toMatchObject({ id: a })
      expect(await w.instances.findClaimedBy(t2)).toBeNull()
    })

    it('claimFirstFree: healthy before quarantined, only of the mode asked, none left → NoInstanceAvailable', async () => {
      const owner = await w.newTenant()
      const quarantined = await freeInstance('pool')
      await w.instances.claimById(quarantined, owner, T0)
      await w.instances.release(quarantined, owner, { needsLogout: true })
      await freeInstance('simulator')
      const healthy = await freeInstance('pool')
      expect((await w.instances.claimFirstFree('pool', await w.newTenant(), at(1))).id).toBe(healthy)
      // Only the quarantined one is left: still claimable (its next claimer logs it out first).
      expect(await w.instances.claimFirstFree('pool', await w.newTenant(), at(2))).toMatchObject({
        id: quarantined,
        needsLogout: true,
      })
      expect(await rejection(w.instances.claimFirstFree('pool', await w.newTenant(), at(3)))).toBeInstanceOf(
        NoInstanceAvailableError,
      )
    })

    it('release and remove act only for the claiming tenant; release clears the webhook token and the poll lease', async () => {
      const id = await freeInstance()
      const owner = await w.newTenant()
      const stranger = await w.newTenant()
      await w.instances.claimById(id, owner, T0)
      await w.instances.setWebhookToken(id, owner, 'v1.test.webhook')
      await w.instances.setWebhookToken(id, stranger, 'v1.test.other')
      expect((await w.instances.findById(id))?.encryptedWebhookToken).toBe('v1.test.webhook')
      expect(await w.instances.tryAcquirePollLease(id, 60_000)).toBe(true)
      expect(await w.instances.tryAcquirePollLease(id, 60_000)).toBe(false)

      await w.instances.release(id, stranger)
      await w.instances.remove(id, stranger)
      expect(await w.instances.findById(id)).toMatchObject({ tenantId: owner })
      await w.instances.release(id, owner)
      expect(await w.instances.findById(id)).toMatchObject({
        tenantId: null,
        claimedAt: null,
        encryptedWebhookToken: null,
        needsLogout: false,
      })
      expect(await w.instances.tryAcquirePollLease(id, 60_000)).toBe(true)

      await w.instances.claimById(id, owner, at(1))
      await w.instances.remove(id, owner)
      expect(await w.instances.findById(id)).toBeNull()
    })

    it('registerClaimed: a new claimed row; a known id or a tenant with a claim is busy', async () => {
      const tenantId = await w.newTenant()
      const id = uniqueDigits()
      const input = {
        id,
        mode: 'partner' as const,
        apiUrl: 'https://7103.api.greenapi.test',
        encryptedToken: 'v1.test.t',
        tenantId,
        encryptedWebhookToken: 'v1.test.w',
        at: T0,
      }
      expect(await w.instances.registerClaimed(input)).toEqual({
        id,
        mode: 'partner',
        apiUrl: input.apiUrl,
        encryptedToken: 'v1.test.t',
        encryptedWebhookToken: 'v1.test.w',
        tenantId,
        claimedAt: T0,
        needsLogout: false,
      })
      expect(await rejection(w.instances.registerClaimed({ ...input, tenantId: await w.newTenant() }))).toBeInstanceOf(
        InstanceBusyError,
      )
      expect(await rejection(w.instances.registerClaimed({ ...input, id: uniqueDigits() }))).toBeInstanceOf(InstanceBusyError)
    })

    it('quarantine: a due instance is leased once, not claimable while leased, retried later, broken for good, or cleared', async () => {
      const owner = await w.newTenant()
      const id = await freeInstance()
      await w.instances.claimById(id, owner, T0)
      await w.instances.release(id, owner, { needsLogout: true })

      expect(await w.instances.takeDueQuarantined(at(10), at(40))).toMatchObject({ id, needsLogout: true })
      expect(await w.instances.takeDueQuarantined(at(11), at(41))).toBeNull()
      expect(await rejection(w.instances.claimById(id, await w.newTenant(), at(12)))).toBeInstanceOf(UpstreamUnavailableError)

      expect(await w.instances.recordLogoutFailure(id)).toBe(1)
      expect(await w.instances.recordLogoutFailure(id)).toBe(2)
      expect(await w.instances.recordLogoutFailure('404404404')).toBe(0)
      await w.instances.scheduleLogoutRetry(id, { retryAt: at(100) })
      expect(await w.instances.takeDueQuarantined(at(50), at(80))).toBeNull()
      expect(await w.instances.takeDueQuarantined(at(100), at(130))).toMatchObject({ id })

      await w.instances.scheduleLogoutRetry(id, { brokenAt: at(131) })
      expect(await w.instances.takeDueQuarantined(at(10_000), at(10_030))).toBeNull()
      expect(await rejection(w.instances.claimFirstFree('pool', await w.newTenant(), at(10_001)))).toBeInstanceOf(
        NoInstanceAvailableError,
      )

      await w.instances.clearQuarantine(id)
      expect(await w.instances.findById(id)).toMatchObject({ needsLogout: false })
      expect(await w.instances.claimFirstFree('pool', owner, at(10_002))).toMatchObject({ id, tenantId: owner })
      // A fresh quarantine starts counting again.
      await w.instances.release(id, owner, { needsLogout: true })
      expect(await w.instances.recordLogoutFailure(id)).toBe(1)
    })

    it('takeDueQuarantined: never-retried instances first, then the longest-waiting retry', async () => {
      const owner = await w.newTenant()
      const [retried, fresh, retriedLater] = [await freeInstance(), await freeInstance(), await freeInstance()]
      for (const id of [retried, fresh, retriedLater]) {
        await w.instances.claimById(id, owner, T0)
        await w.instances.release(id, owner, { needsLogout: true })
      }
      await w.instances.scheduleLogoutRetry(retriedLater, { retryAt: at(8) })
      await w.instances.scheduleLogoutRetry(retried, { retryAt: at(5) })
      const order = []
      for (let i = 0; i < 3; i++) order.push((await w.instances.takeDueQuarantined(at(10), at(40)))?.id)
      expect(order).toEqual([fresh, retried, retriedLater])
    })

    it('markLoggedOut ends the quarantine of a claimed instance for its tenant only', async () => {
      const owner = await w.newTenant()
      const id = await freeInstance()
      await w.instances.claimById(id, owner, T0)
      await w.instances.release(id, owner, { needsLogout: true })
      await w.instances.claimById(id, owner, at(1))
      await w.instances.markLoggedOut(id, await w.newTenant())
      expect(await w.instances.findById(id)).toMatchObject({ needsLogout: true })
      await w.instances.markLoggedOut(id, owner)
      expect(await w.instances.findById(id)).toMatchObject({ needsLogout: false })
    })
  })

  describe('FeatureStore', () => {
    it('flags per tenant (null for an unknown one); one open upgrade request per tenant', async () => {
      const on = await w.newTenant({ whatsappEnabled: true })
      const off = await w.newTenant()
      expect(await w.features.getFlags(on)).toEqual({ whatsapp_enabled: true, sms_enabled: true, email_enabled: true })
      expect(await w.features.getFlags(off)).toMatchObject({ whatsapp_enabled: false })
      expect(await w.features.getFlags('t-no-such-tenant')).toBeNull()
      expect(await w.features.recordUpgradeRequest({ tenantId: off, feature: 'whatsapp', requestedBy: null })).toBe('recorded')
      expect(await w.features.recordUpgradeRequest({ tenantId: off, feature: 'whatsapp', requestedBy: null })).toBe(
        'already_pending',
      )
      expect(await w.features.recordUpgradeRequest({ tenantId: on, feature: 'whatsapp', requestedBy: null })).toBe('recorded')
    })

    it('records when WhatsApp Pro ended, forgets it when switched back on, and lists those still holding an instance', async () => {
      const linked = await w.newTenant({ whatsappEnabled: true })
      const idle = await w.newTenant({ whatsappEnabled: true })
      const never = await w.newTenant()
      await w.instances.claimById(await freeInstance(), linked, T0)
      expect(await w.features.whatsappEndedAt(linked)).toBeNull()
      await w.features.changeFlags(linked, { whatsapp_enabled: false })
      await w.features.changeFlags(idle, { whatsapp_enabled: false })
      await w.features.changeFlags(never, { sms_enabled: false })
      expect(await w.features.whatsappEndedAt(linked)).toBeInstanceOf(Date)
      expect(await w.features.whatsappEndedAt(never)).toBeNull()
      const later = new Date(Date.now() + 3_600_000)
      // Only the tenant that still holds an instance, and only once the cutoff is past its end.
      expect(await w.features.endedWhileHoldingInstance(later, 10)).toEqual([linked])
      expect(await w.features.endedWhileHoldingInstance(new Date(0), 10)).toEqual([])
      await w.features.changeFlags(linked, { whatsapp_enabled: true })
      expect(await w.features.whatsappEndedAt(linked)).toBeNull()
      expect(await w.features.endedWhileHoldingInstance(later, 10)).toEqual([])
    })
  })

  describe('RateLimiter', () => {
    it('a sliding window: `limit` hits per window, Retry-After until the oldest leaves it, per key', async () => {
      const key = `wa:qr:${uniqueDigits()}`
      for (let i = 0; i < 3; i++) {
        expect(await w.limiter.hit(key, 3, 60)).toEqual({ allowed: true, retryAfterSeconds: 0 })
        w.clock.advance(10_000)
      }
      // Hits at 0, 10 and 20 s; now 30 s: the oldest leaves the window at 60 s.
      expect(await w.limiter.hit(key, 3, 60)).toEqual({ allowed: false, retryAfterSeconds: 30 })
      expect((await w.limiter.hit(`${key}:other`, 3, 60)).allowed).toBe(true)
      w.clock.advance(30_001)
      expect((await w.limiter.hit(key, 3, 60)).allowed).toBe(true)
      expect((await w.limiter.hit(key, 3, 60)).allowed).toBe(false)
    })
  })
})
