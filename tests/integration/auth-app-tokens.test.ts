import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestApp, type TestApp } from '../utils/app'
import { APP_TOKEN_KID } from '../../app/utils/jwt.server'
import { appToken, seedAuth, signHs, type SeededUsers } from '../utils/auth-fixtures'
import { testDb } from '../utils/db'

/**
 * HS256 tokens (issue 13, docs/decisions/081): every one needs a `jti`, an `iat` and a lifetime
 * `exp − iat` of at most 365 days. Those the app mints (`kid: "wa-app"`) are an allow-list: a
 * correctly signed one is accepted only with its `jti` recorded in api_tokens for its user and
 * not revoked. The CRM's own (shared secret, jtis the app never saw) keep the deny-list of docs/api.md#authentication.
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

const app_ = { kid: APP_TOKEN_KID }

describe("HS256 tokens: revocable and bounded; the app's own are an allow-list", () => {
  it.each<[string, () => Promise<string>]>([
    ['no jti (CRM-signed)', () => signHs({ sub: users.owner, tenant_id: 'macrea' })],
    ['no jti (app kid)', () => signHs({ sub: users.owner, tenant_id: 'macrea' }, app_)],
    ['no iat (CRM-signed)', () => signHs({ sub: users.owner, tenant_id: 'macrea', jti: randomUUID(), iat: undefined })],
    [
      'a lifetime of 2 years (CRM-signed)',
      () => signHs({ sub: users.owner, tenant_id: 'macrea', jti: randomUUID(), iat: now(), exp: now() + 730 * DAY }),
    ],
    [
      'the app kid and a jti the app never recorded',
      () => signHs({ sub: users.owner, tenant_id: 'macrea', jti: randomUUID() }, app_),
    ],
    [
      'the app kid and a jti that is not a uuid',
      () => signHs({ sub: users.owner, tenant_id: 'macrea', jti: 'not-a-uuid' }, app_),
    ],
    [
      "the app kid and another user's recorded jti",
      async () => {
        const jti = randomUUID()
        await appToken(testDb(), { sub: users.member, tenant_id: 'macrea', jti })
        return signHs({ sub: users.owner, tenant_id: 'macrea', jti }, app_)
      },
    ],
    ['a recorded jti but no iat', () => appToken(testDb(), { sub: users.owner, tenant_id: 'macrea', iat: undefined })],
    [
      'a recorded jti, lifetime 365 d + 1 s',
      () => appToken(testDb(), { sub: users.owner, tenant_id: 'macrea', iat: now(), exp: now() + 365 * DAY + 1 }),
    ],
    [
      'a recorded jti, 10-year lifetime',
      () => appToken(testDb(), { sub: users.owner, tenant_id: 'macrea', iat: now(), exp: now() + 3650 * DAY }),
    ],
    [
      'a recorded jti, issued in the future',
      () => appToken(testDb(), { sub: users.owner, tenant_id: 'macrea', iat: now() + 600, exp: now() + 1200 }),
    ],
  ])('refuses a correctly signed token with %s: 401 UNAUTHENTICATED', async (_name, make) => {
    const res = await features(await make())
    expect(res.status).toBe(401)
    expect(res.headers.get('www-authenticate')).toBe('Bearer')
    expect(await res.json()).toMatchObject({ ok: false, error: 'UNAUTHENTICATED' })
  })

  it('accepts a CRM-signed token with a jti the app never saw (the deny-list of docs/api.md#authentication), and refuses it once that jti is revoked', async () => {
    const jti = randomUUID()
    const token = await signHs({ sub: users.owner, tenant_id: 'macrea', jti })
    expect((await features(token)).status).toBe(200)
    await testDb()
      .insertInto('api_tokens')
      .values({
        jti,
        tenant_id: 'macrea',
        user_id: users.owner,
        name: 'revoked CRM token',
        expires_at: new Date(Date.now() + 600_000),
        revoked_at: new Date(),
      })
      .execute()
    let status = 0
    for (let i = 0; i < 50 && status !== 401; i++) {
      if (i > 0) await new Promise((r) => setTimeout(r, 100))
      status = (await features(token)).status
    }
    expect(status).toBe(401)
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
