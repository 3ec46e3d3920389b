import { describe, expect, it } from 'vitest'
import { KyselyConnectionRepository } from '../../adapters/kysely/kysely-connection-repository'
import { InstanceBusyError } from '../../domain/whatsapp/whatsapp.errors'
import { createInstance, createTenant } from '../factories'
import { listenToCache, otherProcessDb, testDb } from '../utils/db'
import { eventually } from '../utils/wa-harness'

const T0 = new Date('2026-11-25T10:00:00.000Z')
const at = (s: number) => new Date(T0.getTime() + s * 1000)

async function linkedTenant() {
  const tenant = await createTenant({ whatsappEnabled: true })
  const instance = await createInstance({ mode: 'pool', tenantId: tenant.id })
  const repo = new KyselyConnectionRepository(testDb())
  const record = await repo.saveLinkAttempt({
    tenantId: tenant.id,
    instanceId: instance.id,
    encryptedConfig: 'v1.k1.ciphertext',
    linkStartedAt: T0,
    linkExpiresAt: at(300),
  })
  return { tenant, instance, repo, record }
}

async function timeline(tenantId: string) {
  return testDb()
    .selectFrom('wa_status_events')
    .select(['from_status', 'to_status', 'source'])
    .where('tenant_id', '=', tenantId)
    .orderBy('id')
    .execute()
}

describe('KyselyConnectionRepository', () => {
  it('creates the row on the first link attempt and updates it on the next (one timeline entry)', async () => {
    const { tenant, instance, repo, record } = await linkedTenant()
    expect(record).toMatchObject({
      tenantId: tenant.id,
      instanceId: instance.id,
      encryptedConfig: 'v1.k1.ciphertext',
      status: 'notAuthorized',
      isActive: false,
      account: null,
      linkStartedAt: T0,
      linkExpiresAt: at(300),
    })
    const again = await repo.saveLinkAttempt({
      tenantId: tenant.id,
      instanceId: instance.id,
      encryptedConfig: 'v1.k2.other',
      linkStartedAt: at(60),
      linkExpiresAt: at(360),
    })
    expect(again).toMatchObject({ encryptedConfig: 'v1.k2.other', linkStartedAt: at(60), linkExpiresAt: at(360) })
    expect(await repo.findByTenant(tenant.id)).toEqual(again)
    expect(await repo.findByInstanceId(instance.id)).toEqual(again)
    expect(await timeline(tenant.id)).toEqual([{ from_status: null, to_status: 'notAuthorized', source: 'link' }])
  })

  it('one provider row per tenant: concurrent first attempts from two processes end with one row', async () => {
    const tenant = await createTenant({ whatsappEnabled: true })
    const instance = await createInstance({ tenantId: tenant.id })
    const other = otherProcessDb()
    try {
      const input = {
        tenantId: tenant.id,
        instanceId: instance.id,
        encryptedConfig: 'x',
        linkStartedAt: T0,
        linkExpiresAt: at(300),
      }
      await Promise.all([
        new KyselyConnectionRepository(testDb()).saveLinkAttempt(input),
        new KyselyConnectionRepository(other).saveLinkAttempt(input),
        new KyselyConnectionRepository(testDb()).saveLinkAttempt(input),
      ])
    } finally {
      await other.destroy()
    }
    const rows = await testDb().selectFrom('tenant_provider_configs').select('id').where('tenant_id', '=', tenant.id).execute()
    expect(rows).toHaveLength(1)
    // The database itself refuses a second row.
    await expect(
      testDb()
        .insertInto('tenant_provider_configs')
        .values({
          tenant_id: tenant.id,
          provider: 'green_api',
          encrypted_config: 'y',
          instance_id: instance.id,
          connection_status: 'notAuthorized',
        })
        .execute(),
    ).rejects.toMatchObject({ code: '23505' })
  })

  it("an instance referenced by another tenant's row → InstanceBusyError", async () => {
    const { instance } = await linkedTenant()
    const intruder = await createTenant({ whatsappEnabled: true })
    await expect(
      new KyselyConnectionRepository(testDb()).saveLinkAttempt({
        tenantId: intruder.id,
        instanceId: instance.id,
        encryptedConfig: 'x',
        linkStartedAt: T0,
        linkExpiresAt: at(300),
      }),
    ).rejects.toBeInstanceOf(InstanceBusyError)
  })

  it('applyStatus writes status/phone/is_active and the timeline only on change', async () => {
    const { tenant, repo } = await linkedTenant()
    const same = await repo.applyStatus(tenant.id, { status: 'notAuthorized', checkedAt: at(1), source: 'poll' })
    expect(same.outcome).toBe('unchanged')
    const changed = await repo.applyStatus(tenant.id, {
      status: 'authorized',
      account: { phone: '+33612345678' },
      checkedAt: at(2),
      source: 'poll',
    })
    expect(changed).toMatchObject({
      outcome: 'changed',
      previous: { status: 'notAuthorized' },
      record: {
        status: 'authorized',
        isActive: true,
        account: { phone: '+33612345678' },
        statusChangedAt: at(2),
        statusCheckedAt: at(2),
        linkExpiresAt: null,
      },
    })
    const again = await repo.applyStatus(tenant.id, { status: 'authorized', checkedAt: at(3), source: 'poll' })
    expect(again).toMatchObject({
      outcome: 'unchanged',
      record: { statusChangedAt: at(2), statusCheckedAt: at(3), account: { phone: '+33612345678' } },
    })
    await repo.applyStatus(tenant.id, { status: 'yellowCard', checkedAt: at(4), source: 'webhook' })
    expect(await timeline(tenant.id)).toEqual([
      { from_status: null, to_status: 'notAuthorized', source: 'link' },
      { from_status: 'notAuthorized', to_status: 'authorized', source: 'poll' },
      { from_status: 'authorized', to_status: 'yellowCard', source: 'webhook' },
    ])
    expect(await repo.applyStatus('no-such-tenant', { status: 'authorized', checkedAt: at(5), source: 'poll' })).toEqual({
      outcome: 'missing',
    })
  })

  it('lastEventAt guard: older webhook events are ignored, equal ones apply', async () => {
    const { tenant, repo } = await linkedTenant()
    await repo.applyStatus(tenant.id, { status: 'authorized', checkedAt: at(10), source: 'webhook', eventAt: at(10) })
    const old = await repo.applyStatus(tenant.id, { status: 'starting', checkedAt: at(11), source: 'webhook', eventAt: at(5) })
    expect(old.outcome).toBe('stale')
    const equal = await repo.applyStatus(tenant.id, { status: 'starting', checkedAt: at(12), source: 'webhook', eventAt: at(10) })
    expect(equal.outcome).toBe('changed')
    expect((await repo.findByTenant(tenant.id))?.lastEventAt).toEqual(at(10))
  })

  it('a bad phone number is refused by the database check', async () => {
    const { tenant, repo } = await linkedTenant()
    await expect(
      repo.applyStatus(tenant.id, { status: 'authorized', account: { phone: '0612' }, checkedAt: at(1), source: 'poll' }),
    ).rejects.toMatchObject({
      code: '23514',
    })
  })

  it('recordLinkExpired writes one "expire" entry per attempt', async () => {
    const { tenant, instance, repo } = await linkedTenant()
    expect(await repo.recordLinkExpired(tenant.id, at(301))).toBe(true)
    expect(await repo.recordLinkExpired(tenant.id, at(302))).toBe(false)
    await repo.saveLinkAttempt({
      tenantId: tenant.id,
      instanceId: instance.id,
      encryptedConfig: 'x',
      linkStartedAt: at(400),
      linkExpiresAt: at(700),
    })
    expect(await repo.recordLinkExpired(tenant.id, at(701))).toBe(true)
    expect((await timeline(tenant.id)).filter((e) => e.source === 'expire')).toHaveLength(2)
    expect(await repo.recordLinkExpired('no-such-tenant', at(1))).toBe(false)
  })

  it('delete removes the row with a "disconnect" timeline entry; idempotent', async () => {
    const { tenant, repo } = await linkedTenant()
    await repo.applyStatus(tenant.id, { status: 'authorized', checkedAt: at(1), source: 'poll' })
    expect((await repo.delete(tenant.id, at(2)))?.status).toBe('authorized')
    expect(await repo.delete(tenant.id, at(3))).toBeNull()
    expect(await repo.findByTenant(tenant.id)).toBeNull()
    expect((await timeline(tenant.id)).at(-1)).toEqual({
      from_status: 'authorized',
      to_status: 'notAuthorized',
      source: 'disconnect',
    })
  })

  it('listForReconcile returns connected/degraded rows and running link attempts only', async () => {
    const a = await linkedTenant() // running attempt until T0+300
    const b = await linkedTenant()
    await b.repo.applyStatus(b.tenant.id, { status: 'blocked', checkedAt: at(1), source: 'poll' })
    const c = await linkedTenant()
    const ids = (await a.repo.listForReconcile(at(301))).map((r) => r.tenantId)
    expect(ids).toContain(b.tenant.id)
    expect(ids).not.toContain(a.tenant.id)
    expect(ids).not.toContain(c.tenant.id)
    const during = (await a.repo.listForReconcile(at(100))).map((r) => r.tenantId)
    expect(during).toEqual(expect.arrayContaining([a.tenant.id, b.tenant.id, c.tenant.id]))
  })
})

describe('cache invalidation trigger (wa_cache) on tenant_provider_configs', () => {
  it('fires on a change a user can see, not when only bookkeeping moved (check time, event time, expiry mark)', async () => {
    const { tenant, repo } = await linkedTenant()
    const { seen, close } = await listenToCache(tenant.id)
    try {
      // Bookkeeping only: a check that confirmed the same state, a webhook's event time, the expiry.
      expect((await repo.applyStatus(tenant.id, { status: 'notAuthorized', checkedAt: at(1), source: 'poll' })).outcome).toBe(
        'unchanged',
      )
      expect(
        (await repo.applyStatus(tenant.id, { status: 'notAuthorized', checkedAt: at(2), source: 'webhook', eventAt: at(2) }))
          .outcome,
      ).toBe('unchanged')
      expect(await repo.recordLinkExpired(tenant.id, at(301))).toBe(true)
      // A change: its notification arrives after any earlier one (commit order).
      expect(
        (
          await repo.applyStatus(tenant.id, {
            status: 'authorized',
            account: { phone: '+33612345678' },
            checkedAt: at(302),
            source: 'poll',
          })
        ).outcome,
      ).toBe('changed')
      await eventually(async () => expect(seen).toHaveLength(1))
      expect(seen).toEqual([{ k: 'connection', id: tenant.id }])
    } finally {
      await close()
    }
  })
})
