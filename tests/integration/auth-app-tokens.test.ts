import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestApp, type TestApp } from '../utils/app'
import { appToken, seedAuth, signHs, type SeededUsers } from '../utils/auth-fixtures'
import { testDb } from '../utils/db'

/**
 * HS256 tokens are the app's own, so they are an allow-list (issue 13, docs/decisions/081): a
 * correctly signed token is accepted only with a `jti` recorded in api_tokens for its user and
 * not revoked, an `iat`, and a lifetime `exp − iat` of at most 365 days.
 */
let app: TestApp
let users: SeededUsers
const DAY = 24 * 3600
const now = () => Math.floor(Date.now() / 1000)

beforeAll(async () => {
  users = await seedAuth(testDb())
  app = await startTestApp()
})
afterAll(async () => {
  await app?.close()
})

const features = (token: string) => fetch(`${app.url}/api/settings/features`, { headers: { authorization: `Bearer ${token}` } })

describe('HS256 tokens are an allow-list', () => {
  it.each<[string, () => Promise<string>]>([
    ['no jti', () => signHs({ sub: users.owner, tenant_id: 'macrea' })],
    ['a jti the app never recorded', () => signHs({ sub: users.owner, tenant_id: 'macrea', jti: randomUUID() })],
    ['a jti that is not a uuid', () => signHs({ sub: users.owner, tenant_id: 'macrea', jti: 'not-a-uuid' })],
    [
      "another user's recorded jti",
      async () => {
        const jti = randomUUID()
        await appToken(testDb(), { sub: users.member, tenant_id: 'macrea', jti })
        return signHs({ sub: users.owner, tenant_id: 'macrea', jti })
      },
    ],
    ['a recorded jti but no iat', () => appToken(testDb(), { sub: users.owner, tenant_id: 'macrea', iat: undefined })],
    ['a recorded jti, lifetime 365 d + 1 s', () => appToken(testDb(), { sub: users.owner, tenant_id: 'macrea', iat: now(), exp: now() + 365 * DAY + 1 })],
    ['a recorded jti, 10-year lifetime', () => appToken(testDb(), { sub: users.owner, tenant_id: 'macrea', iat: now(), exp: now() + 3650 * DAY })],
    ['a recorded jti, issued in the future', () => appToken(testDb(), { sub: users.owner, tenant_id: 'macrea', iat: now() + 600, exp: now() + 1200 })],
  ])('refuses a correctly signed token with %s: 401 UNAUTHENTICATED', async (_name, make) => {
    const res = await features(await make())
    expect(res.status).toBe(401)
    expect(res.headers.get('www-authenticate')).toBe('Bearer')
    expect(await res.json()).toMatchObject({ ok: false, error: 'UNAUTHENTICATED' })
  })

  it('accepts a recorded, unrevoked token of exactly 365 days, and refuses it once revoked', async () => {
    const jti = randomUUID()
    const token = await appToken(testDb(), { sub: users.owner, tenant_id: 'macrea', jti, iat: now(), exp: now() + 365 * DAY })
    expect((await features(token)).status).toBe(200)
    await testDb().updateTable('api_tokens').set({ revoked_at: new Date() }).where('jti', '=', jti).execute()
    // The app's principal cache learns of the revocation by NOTIFY: poll a few seconds at most.
    let status = 0
    for (let i = 0; i < 50 && status !== 401; i++) {
      if (i > 0) await new Promise((r) => setTimeout(r, 100))
      status = (await features(token)).status
    }
    expect(status).toBe(401)
  })
})
