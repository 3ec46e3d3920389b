import { randomUUID } from 'node:crypto'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestApp, type TestApp } from '../utils/app'
import { appToken, seedAuth, type SeededUsers } from '../utils/auth-fixtures'
import { listenToCache, testDb } from '../utils/db'

/**
 * An app token's `last_used_at` is bumped at most once a minute, and a burst of requests with
 * a token seen as stale sends ONE UPDATE (the guard decides; the token store's cache marks the
 * cached facts as used before its UPDATE, so the other requests of the burst do not send one
 * that would match no row). Counted by a statement-level trigger on this file's own database:
 * it fires for every UPDATE statement that sets `last_used_at`, whether or not a row matched.
 */
let app: TestApp
let users: SeededUsers

beforeAll(async () => {
  users = await seedAuth(testDb())
  await sql`create table touch_log (at timestamptz not null default clock_timestamp())`.execute(testDb())
  await sql`create function log_touch() returns trigger language plpgsql as $$
    begin insert into touch_log default values; return null; end $$`.execute(testDb())
  await sql`create trigger api_tokens_touch after update of last_used_at on api_tokens
    for each statement execute function log_touch()`.execute(testDb())
  app = await startTestApp()
})
afterAll(async () => {
  await app?.close()
})

/** UPDATE statements that set `last_used_at` so far (the tests of this file run one after the other). */
const touches = async () => Number((await sql<{ n: string }>`select count(*) as n from touch_log`.execute(testDb())).rows[0]!.n)

async function burst(token: string, n: number): Promise<void> {
  const statuses = await Promise.all(
    Array.from(
      { length: n },
      async () => (await fetch(`${app.url}/api/settings/features`, { headers: { authorization: `Bearer ${token}` } })).status,
    ),
  )
  expect(new Set(statuses)).toEqual(new Set([200]))
}

/** The touch is fire-and-forget: wait until `n` landed (a few seconds at most), then check there are not more. */
async function eventuallyTouched(n: number): Promise<void> {
  for (let i = 0; i < 100 && (await touches()) < n; i++) await new Promise((r) => setTimeout(r, 50))
  expect(await touches()).toBe(n)
}

describe('API token last_used_at', () => {
  it('a burst of 30 requests with a never-used token bumps it once; more requests within the minute, never', async () => {
    const jti = randomUUID()
    const token = await appToken(testDb(), { sub: users.owner, tenant_id: 'macrea', jti })
    const before = await touches()
    await burst(token, 30)
    await eventuallyTouched(before + 1)
    await burst(token, 30)
    await burst(token, 30)
    // Late UPDATEs of the first burst would have landed by now (its first one did above).
    await eventuallyTouched(before + 1)
  })

  it('a token last used over a minute ago is bumped again, once per burst', async () => {
    const jti = randomUUID()
    const token = await appToken(testDb(), { sub: users.owner, tenant_id: 'macrea', jti })
    await testDb()
      .updateTable('api_tokens')
      .set({ last_used_at: new Date(Date.now() - 61_000) })
      .where('jti', '=', jti)
      .execute()
    const before = await touches()
    await burst(token, 30)
    await eventuallyTouched(before + 1)
    expect(
      (
        await testDb().selectFrom('api_tokens').select('last_used_at').where('jti', '=', jti).executeTakeFirstOrThrow()
      ).last_used_at!.getTime(),
    ).toBeGreaterThan(Date.now() - 10_000)
  })

  it("the app's touch sends no cache NOTIFY (no process drops the token's facts); a revocation does", async () => {
    const jti = randomUUID()
    const token = await appToken(testDb(), { sub: users.owner, tenant_id: 'macrea', jti })
    const { seen, close } = await listenToCache(jti)
    try {
      const before = await touches()
      await burst(token, 5)
      await eventuallyTouched(before + 1)
      await testDb().updateTable('api_tokens').set({ revoked_at: new Date() }).where('jti', '=', jti).execute()
      // Notifications arrive in commit order: once this one is in, every earlier one is too.
      await sql`select pg_notify('wa_cache', json_build_object('k', 'end', 'id', ${jti}::text)::text)`.execute(testDb())
      for (let i = 0; i < 100 && !seen.some((m) => m.k === 'end'); i++) await new Promise((r) => setTimeout(r, 20))
      expect(seen).toEqual([
        { k: 'token', id: jti },
        { k: 'end', id: jti },
      ])
      const res = await fetch(`${app.url}/api/settings/features`, { headers: { authorization: `Bearer ${token}` } })
      expect(res.status).toBe(401)
    } finally {
      await close()
    }
  })
})
