import { sql } from 'kysely'
import { beforeEach, describe, expect, it } from 'vitest'
import { KyselyConnectionRepository } from '../../adapters/kysely/kysely-connection-repository'
import { KyselyFeatureStore } from '../../adapters/kysely/kysely-feature-store'
import { KyselyInstanceAllocator } from '../../adapters/kysely/kysely-instance-allocator'
import { KyselyMessageStore } from '../../adapters/kysely/kysely-message-store'
import { KyselyRateLimiter } from '../../adapters/kysely/kysely-rate-limiter'
import { AesGcmCredentialVault } from '../../adapters/crypto/aes-gcm-credential-vault'
import { parseEncryptionKeys } from '../../adapters/crypto/encryption-keys'
import type { MessageStore, NewOutboundMessage } from '../../domain/ports/message-store'
import { InMemoryMessageStore } from '../../domain/testing/in-memory-message-store'
import { randomUUID } from 'node:crypto'
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
import { TEST_ENCRYPTION_KEYS } from '../utils/app'

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
  messages: MessageStore
  /** Jobs the message store added with its rows (task, payload, key), oldest first. */
  jobs(): Promise<Array<{ task: string; payload: unknown; key: string | null }>>
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
      const messages = new InMemoryMessageStore()
      return {
        connections,
        instances,
        features,
        limiter: new InMemoryRateLimiter(clock),
        messages,
        async jobs() {
          return messages.jobs.map((j) => ({ task: j.task, payload: j.payload, key: j.options?.key ?? null }))
        },
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
      await sql`TRUNCATE wa_instances, tenant_provider_configs, wa_status_events, rate_limit_windows, wa_messages CASCADE`.execute(
        db,
      )
      await sql`delete from graphile_worker._private_jobs`.execute(db)
      const clock = new ManualClock()
      return {
        connections: new KyselyConnectionRepository(
          db,
          new AesGcmCredentialVault(parseEncryptionKeys({ WA_ENCRYPTION_KEYS: TEST_ENCRYPTION_KEYS })),
        ),
        instances: new KyselyInstanceAllocator(db),
        features: new KyselyFeatureStore(db),
        limiter: new KyselyRateLimiter(db, { clock }),
        messages: new KyselyMessageStore(
          db,
          new AesGcmCredentialVault(parseEncryptionKeys({ WA_ENCRYPTION_KEYS: TEST_ENCRYPTION_KEYS })),
        ),
        async jobs() {
          const { rows } = await sql<{ task: string; payload: unknown; key: string | null }>`
            select t.identifier as task, j.payload, j.key from graphile_worker._private_jobs j
            join graphile_worker._private_tasks t on t.id = j.task_id order by j.id`.execute(db)
          // graphile-worker's identifiers spell our dots as colons (taskIdentifier).
          return rows.map((r) => ({ ...r, task: r.task.replaceAll(':', '.') }))
        },
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
        // The linked account's profile (decision 242): never fetched.
        profileFetchedAt: null,
        linkStartedAt: T0,
        linkExpiresAt: at(300),
        statusChangedAt: T0,
        statusCheckedAt: null,
        lastEventAt: null,
        // The right phone (decision 200): no number expected, none refused.
        expectedPhone: null,
        wrongNumber: null,
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

    it('listStatusEvents: newest first, paged before an entry, per tenant, kept after delete; hasBeenAuthorized once linked', async () => {
      const { tenantId } = await linking()
      const other = (await linking()).tenantId
      expect(await w.connections.hasBeenAuthorized(tenantId)).toBe(false)
      await w.connections.applyStatus(tenantId, { status: 'authorized', checkedAt: at(10), source: 'webhook' })
      await w.connections.applyStatus(tenantId, { status: 'yellowCard', checkedAt: at(20), source: 'poll' })
      await w.connections.delete(tenantId, at(30))
      expect(await w.connections.hasBeenAuthorized(tenantId)).toBe(true)
      expect(await w.connections.hasBeenAuthorized(other)).toBe(false)

      const all = await w.connections.listStatusEvents(tenantId, { limit: 10 })
      expect(all.hasMore).toBe(false)
      expect(all.events.map(({ from, to, source, at: when }) => ({ from, to, source, at: when }))).toEqual([
        { from: 'yellowCard', to: 'notAuthorized', source: 'disconnect', at: at(30) },
        { from: 'authorized', to: 'yellowCard', source: 'poll', at: at(20) },
        { from: 'notAuthorized', to: 'authorized', source: 'webhook', at: at(10) },
        { from: null, to: 'notAuthorized', source: 'link', at: T0 },
      ])
      const first = await w.connections.listStatusEvents(tenantId, { limit: 3 })
      expect(first).toEqual({ events: all.events.slice(0, 3), hasMore: true })
      const rest = await w.connections.listStatusEvents(tenantId, { limit: 3, beforeId: first.events[2]!.id })
      expect(rest).toEqual({ events: all.events.slice(3), hasMore: false })
      // Another tenant's entry as the cursor: nothing of either tenant.
      expect(await w.connections.listStatusEvents(other, { limit: 10, beforeId: all.events[0]!.id })).toEqual({
        events: [],
        hasMore: false,
      })
      expect((await w.connections.listStatusEvents(other, { limit: 10 })).events.map((e) => e.source)).toEqual(['link'])
    })

    it('delete after our own logout: its echo (to notAuthorized, observed since the logout) becomes the one disconnect entry', async () => {
      const { tenantId } = await linking()
      await w.connections.applyStatus(tenantId, { status: 'authorized', checkedAt: at(10), source: 'webhook' })
      // Our logout starts at +20 s; Green-API's notification of it is stored at +21 s.
      await w.connections.applyStatus(tenantId, { status: 'notAuthorized', checkedAt: at(21), source: 'webhook' })
      await w.connections.delete(tenantId, at(22), { ourLogoutSince: at(20) })
      const events = (await w.connections.listStatusEvents(tenantId, { limit: 10 })).events
      expect(events.map(({ from, to, source }) => ({ from, to, source }))).toEqual([
        { from: 'authorized', to: 'notAuthorized', source: 'disconnect' },
        { from: 'notAuthorized', to: 'authorized', source: 'webhook' },
        { from: null, to: 'notAuthorized', source: 'link' },
      ])

      // A loss observed before the logout started is the phone's own, and stays.
      const other = (await linking()).tenantId
      await w.connections.applyStatus(other, { status: 'authorized', checkedAt: at(10), source: 'webhook' })
      await w.connections.applyStatus(other, { status: 'notAuthorized', checkedAt: at(15), source: 'poll' })
      await w.connections.delete(other, at(22), { ourLogoutSince: at(20) })
      expect(
        (await w.connections.listStatusEvents(other, { limit: 10 })).events.map((e) => `${e.from}>${e.to}:${e.source}`),
      ).toEqual([
        'notAuthorized>notAuthorized:disconnect',
        'authorized>notAuthorized:poll',
        'notAuthorized>authorized:webhook',
        'null>notAuthorized:link',
      ])
    })

    it('purgeStatusEventsBefore: entries before the cutoff go, across tenants, except each tenant’s newest `authorized`', async () => {
      const { tenantId } = await linking()
      await w.connections.applyStatus(tenantId, { status: 'authorized', checkedAt: at(10), source: 'webhook' })
      await w.connections.applyStatus(tenantId, { status: 'yellowCard', checkedAt: at(15), source: 'poll' })
      await w.connections.applyStatus(tenantId, { status: 'authorized', checkedAt: at(20), source: 'poll' })
      await w.connections.applyStatus(tenantId, { status: 'sleepMode', checkedAt: at(30), source: 'poll' })
      const never = (await linking()).tenantId
      const shape = async (id: string) =>
        (await w.connections.listStatusEvents(id, { limit: 10 })).events.map((e) => `${e.to}@${e.at.getTime() - T0.getTime()}`)

      // T0 (link), +10 s (authorized), +15 s go; +20 s (the newest `authorized`) and +30 s stay.
      expect(await w.connections.purgeStatusEventsBefore(at(25))).toBe(4)
      expect(await shape(tenantId)).toEqual(['sleepMode@30000', 'authorized@20000'])
      expect(await w.connections.hasBeenAuthorized(tenantId)).toBe(true)
      expect(await shape(never)).toEqual([])
      expect(await w.connections.hasBeenAuthorized(never)).toBe(false)
      // Later cutoffs keep the one `authorized` entry; nothing newer than the cutoff goes.
      expect(await w.connections.purgeStatusEventsBefore(at(3600))).toBe(1)
      expect(await shape(tenantId)).toEqual(['authorized@20000'])
      expect(await w.connections.purgeStatusEventsBefore(at(3600))).toBe(0)
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

    it('recordProfile: name and picture join the account while it is linked; another phone or a disconnect drops them', async () => {
      const { tenantId } = await linking()
      const phone = '+33612345678'
      const picture = {
        bytes: new Uint8Array([0x89, 0x50, 0x4e, 0x47, 1, 2, 3]),
        contentType: 'image/png' as const,
        version: 'v1abc',
      }
      // Not linked yet: a profile fetched meanwhile is dropped.
      expect((await w.connections.recordProfile(tenantId, { phone, name: 'Camille', picture, at: at(1) })).outcome).toBe(
        'unchanged',
      )
      expect(await w.connections.findProfilePicture(tenantId)).toBeNull()
      await w.connections.applyStatus(tenantId, {
        status: 'authorized',
        account: { phone },
        checkedAt: at(10),
        source: 'webhook',
      })

      const stored = await w.connections.recordProfile(tenantId, { phone, name: 'Camille', picture, at: at(20) })
      expect(stored.outcome).toBe('changed')
      const record = (await w.connections.findByTenant(tenantId))!
      expect(record.account).toEqual({ phone, name: 'Camille', picture: 'v1abc' })
      expect(record.profileFetchedAt).toEqual(at(20))
      expect(await w.connections.findProfilePicture(tenantId)).toEqual(picture)
      // Same profile a day later: only the fetch time moves.
      const again = await w.connections.recordProfile(tenantId, { phone, name: 'Camille', picture, at: at(90_000) })
      expect(again).toEqual({ outcome: 'unchanged', record: { ...record, profileFetchedAt: at(90_000) } })
      // Another account's profile (a phone since replaced) is dropped.
      expect(
        (await w.connections.recordProfile(tenantId, { phone: '+33600000000', name: 'X', picture: null, at: at(90_001) }))
          .outcome,
      ).toBe('unchanged')
      expect((await w.connections.findByTenant(tenantId))!.account).toEqual({ phone, name: 'Camille', picture: 'v1abc' })
      // A webhook knows the phone only: the profile stays.
      await w.connections.applyStatus(tenantId, {
        status: 'yellowCard',
        account: { phone },
        checkedAt: at(90_010),
        source: 'webhook',
      })
      expect((await w.connections.findByTenant(tenantId))!.account).toEqual({ phone, name: 'Camille', picture: 'v1abc' })
      await w.connections.applyStatus(tenantId, { status: 'authorized', checkedAt: at(90_011), source: 'poll' })
      // No picture any more: gone from the account and from storage.
      expect(
        (await w.connections.recordProfile(tenantId, { phone, name: 'Camille', picture: null, at: at(90_020) })).outcome,
      ).toBe('changed')
      expect((await w.connections.findByTenant(tenantId))!.account).toEqual({ phone, name: 'Camille' })
      expect(await w.connections.findProfilePicture(tenantId)).toBeNull()
      await w.connections.recordProfile(tenantId, { phone, name: 'Camille', picture, at: at(90_030) })

      // Another phone: the profile belonged to the old account.
      await w.connections.applyStatus(tenantId, {
        status: 'authorized',
        account: { phone: '+33698765432' },
        checkedAt: at(90_040),
        source: 'poll',
      })
      const replaced = (await w.connections.findByTenant(tenantId))!
      expect(replaced.account).toEqual({ phone: '+33698765432' })
      expect(replaced.profileFetchedAt).toBeNull()
      expect(await w.connections.findProfilePicture(tenantId)).toBeNull()

      await w.connections.recordProfile(tenantId, { phone: '+33698765432', name: 'Dominique', picture, at: at(90_050) })
      expect(await w.connections.findProfilePicture(tenantId)).toEqual(picture)
      await w.connections.delete(tenantId, at(90_060))
      expect(await w.connections.findProfilePicture(tenantId)).toBeNull()
      expect(await w.connections.recordProfile(tenantId, { phone, name: 'Camille', picture, at: at(90_070) })).toEqual({
        outcome: 'missing',
      })
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

    it('recordChecked: one write moves status_checked_at of the rows still in the observed status, never backwards', async () => {
      const same = await linking()
      const moved = await linking()
      await w.connections.applyStatus(moved.tenantId, { status: 'authorized', checkedAt: at(5), source: 'webhook' })
      const other = await linking()
      const unknown = await w.newTenant()
      const checks = (t: number) => [
        { tenantId: same.tenantId, status: 'notAuthorized' as const, at: at(t) },
        { tenantId: moved.tenantId, status: 'notAuthorized' as const, at: at(t) },
        { tenantId: other.tenantId, status: 'notAuthorized' as const, at: at(t + 2) },
        { tenantId: unknown, status: 'notAuthorized' as const, at: at(t) },
      ]
      expect(await w.connections.recordChecked(checks(10))).toBe(2)
      expect(await w.connections.recordChecked(checks(9))).toBe(0)
      expect(await w.connections.findByTenant(same.tenantId)).toEqual({ ...same.record, statusCheckedAt: at(10) })
      // Each row its own time (when its check was asked), not the pass's.
      expect((await w.connections.findByTenant(other.tenantId))?.statusCheckedAt).toEqual(at(12))
      expect((await w.connections.findByTenant(moved.tenantId))?.statusCheckedAt).toEqual(at(5))
      expect(await w.connections.recordChecked([])).toBe(0)
      expect((await w.timeline(same.tenantId)).map((e) => e.source)).toEqual(['link'])
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
      // The batch form shares the lease: taken above, so not won here; a fresh one is.
      const other = await freeInstance()
      expect(await w.instances.tryAcquirePollLeases([id, other, other], 60_000)).toEqual(new Set([other]))
      expect(await w.instances.tryAcquirePollLeases([id, other], 60_000)).toEqual(new Set())
      expect(await w.instances.tryAcquirePollLease(other, 60_000)).toBe(false)
      expect(await w.instances.tryAcquirePollLeases([], 60_000)).toEqual(new Set())

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
  describe('MessageStore', () => {
    const IDEM_SINCE = at(-24 * 3600)
    const JOB = (instanceId: string) => ({
      task: 'wa.send-message' as const,
      payload: { instanceId },
      options: { key: `wa-send:${instanceId}`, queue: `wa-send:${instanceId}` },
    })

    async function outbound(over: Partial<NewOutboundMessage> & { tenantId: string; instanceId: string }) {
      const input: NewOutboundMessage = {
        id: randomUUID(),
        to: '+33612345678',
        text: 'Bonjour 👋',
        reference: null,
        idempotencyKey: null,
        requestFingerprint: null,
        createdAt: T0,
        expiresAt: at(24 * 3600),
        ...over,
      }
      const r = await w.messages.createOutbound(input, { idempotentSince: IDEM_SINCE, job: JOB(input.instanceId) })
      return { input, r }
    }

    it('creates a queued outbound message with its send job; finds it for its tenant only', async () => {
      const tenantId = await w.newTenant({ whatsappEnabled: true })
      const other = await w.newTenant({ whatsappEnabled: true })
      const instanceId = uniqueDigits()
      const { input, r } = await outbound({ tenantId, instanceId, reference: 'crm-42' })
      expect(r.kind).toBe('created')
      expect(r.message).toEqual({
        id: input.id,
        tenantId,
        direction: 'outbound',
        instanceId,
        peer: '+33612345678',
        text: 'Bonjour 👋',
        contentType: 'text',
        reference: 'crm-42',
        status: 'queued',
        statusHistory: [{ status: 'queued', at: T0 }],
        error: null,
        upstreamMessageId: null,
        idempotencyKey: null,
        createdAt: T0,
        updatedAt: T0,
        sendStartedAt: null,
        expiresAt: at(24 * 3600),
      })
      expect(await w.messages.findById(tenantId, input.id)).toEqual(r.message)
      expect(await w.messages.findById(other, input.id)).toBeNull()
      expect(await w.messages.findById(tenantId, randomUUID())).toBeNull()
      expect(await w.messages.findById(tenantId, 'not-a-uuid')).toBeNull()
      expect(await w.jobs()).toEqual([{ task: 'wa.send-message', payload: { instanceId }, key: `wa-send:${instanceId}` }])
    })

    it('an idempotency key within its window returns the existing message and its fingerprint; an older one is released', async () => {
      const tenantId = await w.newTenant({ whatsappEnabled: true })
      const instanceId = uniqueDigits()
      const first = await outbound({ tenantId, instanceId, idempotencyKey: 'k-1', requestFingerprint: 'fp-a' })
      const again = await outbound({ tenantId, instanceId, idempotencyKey: 'k-1', requestFingerprint: 'fp-b', text: 'other' })
      expect(again.r).toEqual({ kind: 'existing', message: first.r.message, requestFingerprint: 'fp-a' })
      // Same key, another tenant: independent.
      const otherTenant = await w.newTenant({ whatsappEnabled: true })
      expect((await outbound({ tenantId: otherTenant, instanceId, idempotencyKey: 'k-1' })).r.kind).toBe('created')
      // The window is measured from the first message's creation: 24 h later the key is free.
      const later = await w.messages.createOutbound(
        { ...again.input, id: randomUUID(), createdAt: at(25 * 3600), expiresAt: at(49 * 3600) },
        { idempotentSince: at(3600 + 1), job: JOB(instanceId) },
      )
      expect(later.kind).toBe('created')
      expect((await w.messages.findById(tenantId, first.input.id))?.idempotencyKey).toBeNull()
      // One pending send job per instance: the job key replaces, it does not pile up.
      expect(await w.jobs()).toEqual([{ task: 'wa.send-message', payload: { instanceId }, key: `wa-send:${instanceId}` }])
    })

    it('lists newest first with a cursor, and filters by direction and status', async () => {
      const tenantId = await w.newTenant({ whatsappEnabled: true })
      const instanceId = uniqueDigits()
      const ids: string[] = []
      for (let i = 0; i < 5; i++) ids.push((await outbound({ tenantId, instanceId, createdAt: at(i) })).input.id)
      await w.messages.insertInbound({
        id: randomUUID(),
        tenantId,
        instanceId,
        from: '+33611111111',
        text: 'salut',
        contentType: 'text',
        upstreamMessageId: 'IN-1',
        receivedAt: at(10),
      })
      const page1 = await w.messages.list(tenantId, { limit: 2, direction: 'outbound' })
      expect(page1.messages.map((m) => m.id)).toEqual([ids[4], ids[3]])
      expect(page1.hasMore).toBe(true)
      const last = page1.messages[1]!
      const page2 = await w.messages.list(tenantId, {
        limit: 2,
        direction: 'outbound',
        after: { createdAt: last.createdAt, id: last.id },
      })
      expect(page2.messages.map((m) => m.id)).toEqual([ids[2], ids[1]])
      const page3 = await w.messages.list(tenantId, {
        limit: 2,
        direction: 'outbound',
        after: { createdAt: page2.messages[1]!.createdAt, id: page2.messages[1]!.id },
      })
      expect(page3).toMatchObject({ hasMore: false })
      expect(page3.messages.map((m) => m.id)).toEqual([ids[0]])
      expect((await w.messages.list(tenantId, { limit: 10 })).messages.map((m) => m.direction)[0]).toBe('inbound')
      expect((await w.messages.list(tenantId, { limit: 10, status: 'received' })).messages).toHaveLength(1)
      expect((await w.messages.list(await w.newTenant(), { limit: 10 })).messages).toEqual([])
    })

    it('applies statuses through advanceStatus: history appended, late receipts ignored, upstream id stored', async () => {
      const tenantId = await w.newTenant({ whatsappEnabled: true })
      const instanceId = uniqueDigits()
      const { input } = await outbound({ tenantId, instanceId })
      const sending = await w.messages.applyStatus(tenantId, input.id, { status: 'sending', at: at(1), sendStartedAt: at(1) })
      expect(sending).toMatchObject({ changed: true, message: { status: 'sending', sendStartedAt: at(1) } })
      expect(await w.messages.lastSendStartedAt(instanceId)).toEqual(at(1))
      const sent = await w.messages.applyStatus(tenantId, input.id, { status: 'sent', at: at(2), upstreamMessageId: 'UP-1' })
      expect(sent).toMatchObject({ changed: true, message: { status: 'sent', upstreamMessageId: 'UP-1' } })
      expect(await w.messages.applyStatus(tenantId, input.id, { status: 'read', at: at(4) })).toMatchObject({ changed: true })
      const late = await w.messages.applyStatus(tenantId, input.id, { status: 'delivered', at: at(3) })
      expect(late?.changed).toBe(false)
      const found = await w.messages.findByUpstreamId(instanceId, 'UP-1')
      expect(found?.statusHistory).toEqual([
        { status: 'queued', at: T0 },
        { status: 'sending', at: at(1) },
        { status: 'sent', at: at(2) },
        { status: 'read', at: at(4) },
      ])
      expect(await w.messages.findByUpstreamId(uniqueDigits(), 'UP-1')).toBeNull()
      expect(await w.messages.applyStatus(await w.newTenant(), input.id, { status: 'failed', at: at(5) })).toBeNull()
    })

    it('failed and unknown carry an error; later evidence wins over unknown and clears it', async () => {
      const tenantId = await w.newTenant({ whatsappEnabled: true })
      const instanceId = uniqueDigits()
      const a = (await outbound({ tenantId, instanceId })).input
      await w.messages.applyStatus(tenantId, a.id, { status: 'sending', at: at(1), sendStartedAt: at(1) })
      const unknown = await w.messages.applyStatus(tenantId, a.id, {
        status: 'unknown',
        at: at(2),
        error: { code: 'SEND_OUTCOME_UNKNOWN', message: 'no answer' },
      })
      expect(unknown?.message.error).toEqual({ code: 'SEND_OUTCOME_UNKNOWN', message: 'no answer' })
      const delivered = await w.messages.applyStatus(tenantId, a.id, {
        status: 'delivered',
        at: at(3),
        upstreamMessageId: 'UP-2',
      })
      expect(delivered?.message).toMatchObject({ status: 'delivered', error: null, upstreamMessageId: 'UP-2' })
      const b = (await outbound({ tenantId, instanceId })).input
      const failed = await w.messages.applyStatus(tenantId, b.id, {
        status: 'failed',
        at: at(4),
        error: { code: 'EXPIRED', message: 'not sent within 24 h' },
      })
      expect(failed?.message).toMatchObject({ status: 'failed', error: { code: 'EXPIRED' } })
      expect((await w.messages.applyStatus(tenantId, b.id, { status: 'sent', at: at(5) }))?.changed).toBe(false)
    })

    it('the send queue of an instance: an interrupted send first, then the oldest queued; back to the queue', async () => {
      const tenantId = await w.newTenant({ whatsappEnabled: true })
      const instanceId = uniqueDigits()
      const older = (await outbound({ tenantId, instanceId, createdAt: at(0) })).input
      const newer = (await outbound({ tenantId, instanceId, createdAt: at(1) })).input
      await outbound({ tenantId, instanceId: uniqueDigits(), createdAt: at(-5) })
      expect((await w.messages.nextToSend(instanceId))?.id).toBe(older.id)
      await w.messages.applyStatus(tenantId, newer.id, { status: 'sending', at: at(2), sendStartedAt: at(2) })
      expect((await w.messages.nextToSend(instanceId))?.id).toBe(newer.id)
      const back = await w.messages.returnToQueue(tenantId, newer.id, at(3))
      // The pace counts the attempt: send_started_at stays.
      expect(back?.message).toMatchObject({ status: 'queued', sendStartedAt: at(2) })
      expect(await w.messages.lastSendStartedAt(instanceId)).toEqual(at(2))
      expect(back?.message.statusHistory.map((e) => e.status)).toEqual(['queued', 'sending', 'queued'])
      expect((await w.messages.returnToQueue(tenantId, newer.id, at(4)))?.changed).toBe(false)
      expect((await w.messages.nextToSend(instanceId))?.id).toBe(older.id)
      // Sent (upstream id known) messages are not in the queue any more.
      await w.messages.applyStatus(tenantId, older.id, { status: 'sending', at: at(5), sendStartedAt: at(5) })
      await w.messages.applyStatus(tenantId, older.id, { status: 'sent', at: at(6), upstreamMessageId: 'UP-9' })
      expect((await w.messages.nextToSend(instanceId))?.id).toBe(newer.id)
      expect(await w.messages.nextToSend(uniqueDigits())).toBeNull()
    })

    it('inbound messages are idempotent on (instance, upstream id); purge deletes what is older than the cutoff', async () => {
      const tenantId = await w.newTenant({ whatsappEnabled: true })
      const instanceId = uniqueDigits()
      const inbound = {
        id: randomUUID(),
        tenantId,
        instanceId,
        from: '+33622222222',
        text: '[image]',
        contentType: 'image' as const,
        upstreamMessageId: 'IN-7',
        receivedAt: at(1),
      }
      const first = await w.messages.insertInbound(inbound)
      expect(first).toMatchObject({ inserted: true, message: { direction: 'inbound', status: 'received', peer: '+33622222222' } })
      const dup = await w.messages.insertInbound({ ...inbound, id: randomUUID(), text: 'changed' })
      expect(dup).toEqual({ inserted: false, message: first.message })
      const old = (await outbound({ tenantId, instanceId, createdAt: at(-3600) })).input
      expect(await w.messages.purgeOlderThan(at(0))).toBeGreaterThanOrEqual(1)
      expect(await w.messages.findById(tenantId, old.id)).toBeNull()
      expect(await w.messages.findById(tenantId, inbound.id)).not.toBeNull()
    })
  })
})
