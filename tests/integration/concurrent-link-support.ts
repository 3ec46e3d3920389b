import { sql } from 'kysely'
import { expect } from 'vitest'
import { testDb } from '../utils/db'
import type { WaHarness } from '../utils/wa-harness'
import { post, providerRow, type TenantActor } from './api-support'

// Shared by api-concurrent-link-*.test.ts (issue 12: a tenant's own concurrent first link
// attempts answered 409 INSTANCE_BUSY "in use by another tenant"). Not a test file itself.

/**
 * Fires `n` concurrent first `POST /api/wa/qr/generate` for one tenant and checks they all
 * converge on one claim: every answer 200 with a QR, one instance held by the tenant, one
 * provider row pointing at it.
 */
export async function expectConcurrentFirstLinksConverge(h: WaHarness, actor: TenantActor, n: number): Promise<string> {
  const responses = await withSlowFirstRows(() =>
    Promise.all(Array.from({ length: n }, () => post(h, '/api/wa/qr/generate', actor))),
  )
  const answers = await Promise.all(
    responses.map(async (r) => ({ status: r.status, body: (await r.json()) as Record<string, unknown> })),
  )
  const refused = answers.filter((a) => a.status !== 200)
  expect(refused, JSON.stringify(refused.slice(0, 3))).toEqual([])
  for (const a of answers) expect(a.body).toMatchObject({ ok: true, qrCode: expect.stringMatching(/^data:image\/png;base64,/) })

  const claims = await testDb().selectFrom('wa_instances').select('id').where('tenant_id', '=', actor.tenantId).execute()
  expect(claims).toHaveLength(1)
  expect((await providerRow(actor.tenantId))?.instance_id).toBe(claims[0]!.id)
  return claims[0]!.id
}

/**
 * Makes every insert of a tenant's first provider row hold its locks for 100 ms, so the
 * concurrent attempts really overlap there (without it they often run one after the other and
 * the race would go unseen). Only in this file's own database, removed afterwards.
 */
async function withSlowFirstRows<T>(fn: () => Promise<T>): Promise<T> {
  const db = testDb()
  await sql`CREATE OR REPLACE FUNCTION test_slow_first_row() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN PERFORM pg_sleep(0.1); RETURN NEW; END $$`.execute(db)
  await sql`CREATE TRIGGER test_slow_first_row AFTER INSERT ON tenant_provider_configs
    FOR EACH ROW EXECUTE FUNCTION test_slow_first_row()`.execute(db)
  try {
    return await fn()
  } finally {
    await sql`DROP TRIGGER test_slow_first_row ON tenant_provider_configs`.execute(db)
  }
}
