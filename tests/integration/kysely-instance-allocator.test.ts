import { sql } from 'kysely'
import { describe, expect, it } from 'vitest'
import { KyselyInstanceAllocator } from '../../adapters/kysely/kysely-instance-allocator'
import { InstanceBusyError, NoInstanceAvailableError } from '../../domain/whatsapp/whatsapp.errors'
import { createInstance, createTenant, uniqueDigits } from '../factories'
import { otherProcessDb, testDb } from '../utils/db'

const now = new Date('2026-11-25T10:00:00.000Z')

/**
 * Makes every claiming UPDATE hold its row lock for 100 ms, so concurrent claims really overlap
 * (without it they tend to run one after the other and a broken claim would still pass).
 * Only in this file's own database, removed afterwards.
 */
async function withSlowClaims<T>(fn: () => Promise<T>): Promise<T> {
  const db = testDb()
  await sql`CREATE OR REPLACE FUNCTION test_slow_claim() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN PERFORM pg_sleep(0.1); RETURN NEW; END $$`.execute(db)
  await sql`CREATE TRIGGER test_slow_claim BEFORE UPDATE ON wa_instances FOR EACH ROW
    WHEN (NEW.tenant_id IS NOT NULL AND OLD.tenant_id IS NULL) EXECUTE FUNCTION test_slow_claim()`.execute(db)
  try {
    return await fn()
  } finally {
    await sql`DROP TRIGGER test_slow_claim ON wa_instances`.execute(db)
  }
}

describe('KyselyInstanceAllocator', () => {
  it('two processes claiming the only free instance of a mode: exactly one wins', async () => {
    // A mode no other test in this database uses, so "the only free instance" holds.
    await testDb().deleteFrom('wa_instances').where('mode', '=', 'simulator').where('tenant_id', 'is', null).execute()
    const instance = await createInstance({ mode: 'simulator' })
    const [a, b] = [await createTenant(), await createTenant()]
    const other = otherProcessDb()
    try {
      const results = await withSlowClaims(() =>
        Promise.allSettled([
          new KyselyInstanceAllocator(testDb()).claimFirstFree('simulator', a.id, now),
          new KyselyInstanceAllocator(other).claimFirstFree('simulator', b.id, now),
        ]),
      )
      const won = results.filter((r) => r.status === 'fulfilled')
      const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected')
      expect(won).toHaveLength(1)
      expect(lost).toHaveLength(1)
      expect(lost[0]?.reason).toBeInstanceOf(NoInstanceAvailableError)
    } finally {
      await other.destroy()
    }
    const row = await testDb()
      .selectFrom('wa_instances')
      .select('tenant_id')
      .where('id', '=', instance.id)
      .executeTakeFirstOrThrow()
    expect([a.id, b.id]).toContain(row.tenant_id)
  })

  it('a burst of 16 claims from two processes for 3 free instances: 3 winners, each really holds its instance', async () => {
    await testDb().deleteFrom('wa_instances').where('mode', '=', 'simulator').where('tenant_id', 'is', null).execute()
    const instances = [
      await createInstance({ mode: 'simulator' }),
      await createInstance({ mode: 'simulator' }),
      await createInstance({ mode: 'simulator' }),
    ]
    const tenants = await Promise.all(Array.from({ length: 16 }, () => createTenant()))
    const other = otherProcessDb()
    let results: PromiseSettledResult<{ id: string; tenantId: string | null }>[]
    try {
      const allocs = [new KyselyInstanceAllocator(testDb()), new KyselyInstanceAllocator(other)]
      // Warm both pools so the claims overlap instead of queueing behind connection setup.
      await Promise.all(
        [testDb(), other].flatMap((db) =>
          Array.from({ length: 5 }, () => db.selectFrom('tenants').select('id').limit(1).execute()),
        ),
      )
      results = await withSlowClaims(() =>
        Promise.allSettled(tenants.map((t, i) => allocs[i % 2]!.claimFirstFree('simulator', t.id, now))),
      )
    } finally {
      await other.destroy()
    }
    const won = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []))
    const lost = results.flatMap((r) => (r.status === 'rejected' ? [r.reason] : []))
    expect(won).toHaveLength(3)
    expect(lost.every((e) => e instanceof NoInstanceAvailableError)).toBe(true)
    expect(new Set(won.map((w) => w.id))).toEqual(new Set(instances.map((i) => i.id)))
    const rows = await testDb()
      .selectFrom('wa_instances')
      .select(['id', 'tenant_id'])
      .where(
        'id',
        'in',
        instances.map((i) => i.id),
      )
      .execute()
    for (const w of won) expect(rows.find((r) => r.id === w.id)?.tenant_id).toBe(w.tenantId)
  })

  it('a tenant gets its existing claim back, never a second instance', async () => {
    const alloc = new KyselyInstanceAllocator(testDb())
    const t = await createTenant()
    await createInstance({ mode: 'pool' })
    await createInstance({ mode: 'pool' })
    const results = await withSlowClaims(() =>
      Promise.all([
        alloc.claimFirstFree('pool', t.id, now),
        alloc.claimFirstFree('pool', t.id, now),
        alloc.claimFirstFree('pool', t.id, now),
      ]),
    )
    expect(new Set(results.map((r) => r.id)).size).toBe(1)
    expect((await alloc.findClaimedBy(t.id))?.id).toBe(results[0]?.id)
  })

  it('shared instance: busy for a second tenant until released', async () => {
    const alloc = new KyselyInstanceAllocator(testDb())
    const shared = await createInstance({ mode: 'shared' })
    const [a, b] = [await createTenant(), await createTenant()]
    expect((await alloc.claimById(shared.id, a.id, now)).tenantId).toBe(a.id)
    expect((await alloc.claimById(shared.id, a.id, now)).id).toBe(shared.id)
    await expect(alloc.claimById(shared.id, b.id, now)).rejects.toBeInstanceOf(InstanceBusyError)
    await alloc.release(shared.id, b.id) // not b's: no-op
    await expect(alloc.claimById(shared.id, b.id, now)).rejects.toBeInstanceOf(InstanceBusyError)
    await alloc.release(shared.id, a.id)
    expect((await alloc.claimById(shared.id, b.id, now)).tenantId).toBe(b.id)
    await expect(alloc.claimById('999999999', b.id, now)).resolves.toMatchObject({ id: shared.id })
    const c = await createTenant()
    await expect(alloc.claimById('999999999', c.id, now)).rejects.toBeInstanceOf(NoInstanceAvailableError)
  })

  it('the database allows one instance per tenant', async () => {
    const t = await createTenant()
    await createInstance({ tenantId: t.id })
    await expect(createInstance({ tenantId: t.id })).rejects.toMatchObject({ code: '23505' })
  })

  it('webhook token: stored only by the holder; release clears tenant, token and lease', async () => {
    const alloc = new KyselyInstanceAllocator(testDb())
    const t = await createTenant()
    const inst = await createInstance({ mode: 'pool', tenantId: t.id })
    await alloc.setWebhookToken(inst.id, 'someone-else', 'v1.k.evil')
    expect((await alloc.findById(inst.id))?.encryptedWebhookToken).toBeNull()
    await alloc.setWebhookToken(inst.id, t.id, 'v1.k.good')
    expect((await alloc.findById(inst.id))?.encryptedWebhookToken).toBe('v1.k.good')
    expect(await alloc.tryAcquirePollLease(inst.id, 60_000)).toBe(true)
    await alloc.release(inst.id, t.id)
    const row = await testDb().selectFrom('wa_instances').selectAll().where('id', '=', inst.id).executeTakeFirstOrThrow()
    expect(row).toMatchObject({ tenant_id: null, claimed_at: null, encrypted_webhook_token: null, state_polled_at: null })
  })

  it('partner: registerClaimed inserts a claimed row; duplicates → InstanceBusyError; remove deletes only the holder’s', async () => {
    const alloc = new KyselyInstanceAllocator(testDb())
    const t = await createTenant()
    const id = uniqueDigits()
    const input = {
      id,
      mode: 'partner' as const,
      apiUrl: 'https://7700.api.greenapi.test',
      encryptedToken: 'v1.k.t',
      tenantId: t.id,
      encryptedWebhookToken: null,
      at: now,
    }
    expect(await alloc.registerClaimed(input)).toMatchObject({ id, tenantId: t.id, mode: 'partner', claimedAt: now })
    await expect(alloc.registerClaimed(input)).rejects.toBeInstanceOf(InstanceBusyError)
    await alloc.remove(id, 'someone-else')
    expect(await alloc.findById(id)).not.toBeNull()
    await alloc.remove(id, t.id)
    expect(await alloc.findById(id)).toBeNull()
  })

  it('register upserts URL/token/mode without changing the holder', async () => {
    const alloc = new KyselyInstanceAllocator(testDb())
    const t = await createTenant()
    const id = uniqueDigits()
    await alloc.register({ id, mode: 'shared', apiUrl: 'https://a.test', encryptedToken: 'v1.k.a' })
    await alloc.claimById(id, t.id, now)
    const updated = await alloc.register({ id, mode: 'shared', apiUrl: 'https://b.test', encryptedToken: 'v1.k.b' })
    expect(updated).toMatchObject({ apiUrl: 'https://b.test', encryptedToken: 'v1.k.b', tenantId: t.id })
  })

  it('poll lease: 20 concurrent callers in two processes → exactly one gets it per interval', async () => {
    const inst = await createInstance({ mode: 'pool' })
    const other = otherProcessDb()
    try {
      const a = new KyselyInstanceAllocator(testDb())
      const b = new KyselyInstanceAllocator(other)
      const got = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).tryAcquirePollLease(inst.id, 60_000)))
      expect(got.filter(Boolean)).toHaveLength(1)
      expect(await a.tryAcquirePollLease(inst.id, 0)).toBe(true)
      expect(await a.tryAcquirePollLease('424242424242', 0)).toBe(false)
    } finally {
      await other.destroy()
    }
  })
})
