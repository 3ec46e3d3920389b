import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestApp, type TestApp } from '../utils/app'
import { recordedToken, seedAuth, sessionCookie, type SeededUsers } from '../utils/auth-fixtures'
import { testDb } from '../utils/db'
import { runOps } from '../utils/ops-cli'

/**
 * `ops users reset-password` ends everything the old password could have handed out (issue 13):
 * the user's browser sessions AND their API tokens (up to 365 days), in the same transaction, and
 * a running app stops accepting them (its caches learn of the change by NOTIFY).
 */
let app: TestApp
let users: SeededUsers

beforeAll(async () => {
  users = await seedAuth(testDb())
  app = await startTestApp({ env: { WA_CACHE_TTL_MS: '60000' } })
})
afterAll(async () => {
  await app?.close()
})

const features = (headers: Record<string, string>) => fetch(`${app.url}/api/settings/features`, { headers })

/** Polls until `check` is true (the other process's change arrives by NOTIFY), a few seconds at most. */
async function eventually(check: () => Promise<boolean>): Promise<boolean> {
  for (let i = 0; i < 50; i++) {
    if (await check()) return true
    await new Promise((r) => setTimeout(r, 100))
  }
  return false
}

describe('ops users reset-password', { timeout: 120_000 }, () => {
  it("revokes the user's API tokens along with the sessions; other users' tokens keep working", async () => {
    const { token, jti } = await recordedToken(testDb(), users.owner, 'macrea')
    const second = await recordedToken(testDb(), users.owner, 'macrea')
    const other = await recordedToken(testDb(), users.member, 'macrea')
    const cookie = await sessionCookie(testDb(), users.owner)
    // Warm the app's caches: the point is that a running app stops accepting them.
    expect((await features({ authorization: `Bearer ${token}` })).status).toBe(200)
    expect((await features({ authorization: `Bearer ${second.token}` })).status).toBe(200)
    expect((await features({ cookie })).status).toBe(200)

    const reset = await runOps(['users', 'reset-password', 'admin@macrea.test'])
    expect(reset.code, reset.stderr).toBe(0)

    expect(await eventually(async () => (await features({ authorization: `Bearer ${token}` })).status === 401)).toBe(true)
    expect((await features({ authorization: `Bearer ${second.token}` })).status).toBe(401)
    expect((await features({ cookie })).status).toBe(401)
    expect((await features({ authorization: `Bearer ${other.token}` })).status).toBe(200)

    const revoked = await testDb()
      .selectFrom('api_tokens')
      .select(['jti', 'revoked_at'])
      .where('user_id', '=', users.owner)
      .execute()
    expect(revoked.map((r) => r.revoked_at !== null)).toEqual([true, true])
    expect(reset.stderr).toMatch(/2 API token\(s\) revoked/)
    const entry = await testDb()
      .selectFrom('audit_log')
      .select('details')
      .where('action', '=', 'ops.user.reset_password')
      .executeTakeFirstOrThrow()
    expect(entry.details).toMatchObject({ sessions_revoked: 1, api_tokens_revoked: 2 })
    expect(JSON.stringify(entry.details)).not.toContain(jti)
  })
})
