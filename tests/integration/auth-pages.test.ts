import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestApp, type TestApp } from '../utils/app'
import { seedAuth, sessionCookie, type SeededUsers } from '../utils/auth-fixtures'
import { testDb } from '../utils/db'

/**
 * Pages resolve their caller through the API's one step (`identifyCaller`, sessions only): the
 * same refusals with the same codes and audit entries, and one place that sends a visitor who is
 * not signed in to /login.
 */
let app: TestApp
let users: SeededUsers
const db = () => testDb()
const PAGES = ['/settings/whatsapp', '/settings/api-tokens']

beforeAll(async () => {
  users = await seedAuth(db())
  app = await startTestApp()
})
afterAll(async () => {
  await app?.close()
})

const page = (path: string, headers: Record<string, string> = {}) => fetch(`${app.url}${path}`, { redirect: 'manual', headers })
const formPost = (path: string, cookie: string, headers: Record<string, string>, body: Record<string, string>) =>
  fetch(`${app.url}${path}`, {
    method: 'POST',
    redirect: 'manual',
    headers: { cookie, 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(body),
  })

async function auditOf(action: string, userId: string) {
  return db()
    .selectFrom('audit_log')
    .select(['actor', 'tenant_id', 'outcome', 'details'])
    .where('action', '=', action)
    .where('actor', '=', `user:${userId}`)
    .orderBy('id')
    .execute()
}

async function userWithoutMembership(email: string): Promise<string> {
  const row = await db()
    .insertInto('users')
    .values({ email, name: email, password_hash: null })
    .returning('id')
    .executeTakeFirstOrThrow()
  return row.id
}

describe('pages through identifyCaller', () => {
  it.each(PAGES)('%s: no session, a revoked one, or a deleted user → /login?redirectTo=<the page>', async (path) => {
    const expected = `/login?redirectTo=${encodeURIComponent(path)}`
    const none = await page(path)
    expect([none.status, none.headers.get('location')]).toEqual([302, expected])

    const revoked = await sessionCookie(db(), users.owner)
    await db()
      .updateTable('sessions')
      .set({ revoked_at: new Date() })
      .where('user_id', '=', users.owner)
      .where('revoked_at', 'is', null)
      .execute()
    const afterRevoke = await page(path, { cookie: revoked })
    expect([afterRevoke.status, afterRevoke.headers.get('location')]).toEqual([302, expected])

    const ghost = await userWithoutMembership(`ghost-${path.length}@macrea.test`)
    const ghostCookie = await sessionCookie(db(), ghost)
    await db().deleteFrom('users').where('id', '=', ghost).execute()
    const deleted = await page(path, { cookie: ghostCookie })
    expect([deleted.status, deleted.headers.get('location')]).toEqual([302, expected])
  })

  it('a signed-in user without a membership gets the API refusal (403 TENANT_FORBIDDEN), audited like the API', async () => {
    const loner = await userWithoutMembership('loner@macrea.test')
    const cookie = await sessionCookie(db(), loner)
    const res = await page('/settings/whatsapp?_data=routes%2Fsettings', { cookie })
    expect(res.status).toBe(403)
    expect(await res.json()).toMatchObject({ ok: false, error: 'TENANT_FORBIDDEN' })
    const api = await fetch(`${app.url}/api/wa/qr/status`, { headers: { cookie } })
    expect(api.status).toBe(403)
    expect(await api.json()).toMatchObject({ ok: false, error: 'TENANT_FORBIDDEN' })
    const entries = await auditOf('authz.tenant', loner)
    expect(entries).toHaveLength(2)
    for (const e of entries) expect(e).toMatchObject({ outcome: 'denied', details: { via: 'session', reason: 'no_membership' } })
  })

  it('a cross-site page POST is CSRF_REJECTED and audited (authz.csrf), as on the API', async () => {
    const cookie = await sessionCookie(db(), users.owner)
    const before = (await auditOf('authz.csrf', users.owner)).length
    const res = await formPost(
      '/settings/api-tokens?_data=routes%2Fsettings.api-tokens',
      cookie,
      { 'sec-fetch-site': 'same-site' },
      {
        intent: 'mint',
        name: 'x',
        ttl: '1d',
      },
    )
    expect(res.status).toBe(403)
    expect(await res.json()).toMatchObject({ ok: false, error: 'CSRF_REJECTED' })
    const after = await auditOf('authz.csrf', users.owner)
    expect(after).toHaveLength(before + 1)
    expect(after.at(-1)).toMatchObject({ outcome: 'denied', details: { method: 'POST', path: '/settings/api-tokens' } })
  })

  it('a member posting to a page action gets FORBIDDEN_ROLE, the API code', async () => {
    const cookie = await sessionCookie(db(), users.member)
    const res = await formPost(
      '/settings/whatsapp?_data=routes%2Fsettings.whatsapp',
      cookie,
      { origin: app.url },
      { intent: 'disconnect' },
    )
    expect(res.status).toBe(403)
    expect(await res.json()).toMatchObject({ ok: false, error: 'FORBIDDEN_ROLE' })
  })

  it("pages read no X-Tenant: the page is the user's first membership, never a header's tenant", async () => {
    const cookie = await sessionCookie(db(), users.owner)
    const res = await page('/settings?_data=routes%2Fsettings', { cookie, 'x-tenant': 'test_tenant_blocked' })
    expect(res.status).toBe(200)
    expect(await res.json()).toMatchObject({ tenantId: 'macrea', role: 'owner', email: 'admin@macrea.test' })
    const malformed = await page('/settings?_data=routes%2Fsettings', { cookie, 'x-tenant': 'NOT A TENANT' })
    expect(malformed.status).toBe(200)
    expect(await auditOf('authz.tenant', users.owner)).toHaveLength(0)
  })
})
