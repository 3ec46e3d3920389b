import { createHash } from 'node:crypto'
import { http, HttpResponse } from 'msw'
import { setupServer } from 'msw/node'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestApp, type TestApp } from '../utils/app'
import { parseSetCookies, seedAuth, type SeededUsers } from '../utils/auth-fixtures'
import { testDb } from '../utils/db'

/**
 * OAuth sign-in (remix-auth-oauth2 / arctic) against providers faked by MSW: state + PKCE,
 * single use, ≤ 10 minutes, verified e-mail of an existing user only.
 */
const OAUTH_ENV = {
  OAUTH_GOOGLE_CLIENT_ID: 'google-client-id',
  OAUTH_GOOGLE_CLIENT_SECRET: 'google-client-secret-canary',
  OAUTH_GITHUB_CLIENT_ID: 'github-client-id',
  OAUTH_GITHUB_CLIENT_SECRET: 'github-client-secret-canary',
}

// code → what the provider says about the account behind it.
const ACCOUNTS: Record<string, { email: string; verified: boolean }> = {
  'code-admin': { email: 'Admin@Macrea.test', verified: true },
  'code-unverified': { email: 'admin@macrea.test', verified: false },
  'code-stranger': { email: 'stranger@example.com', verified: true },
}
const tokenRequests: Array<{ provider: string; body: URLSearchParams; auth: string | null }> = []

const msw = setupServer(
  http.post('https://oauth2.googleapis.com/token', async ({ request }) => {
    const body = new URLSearchParams(await request.text())
    tokenRequests.push({ provider: 'google', body, auth: request.headers.get('authorization') })
    return HttpResponse.json({ access_token: `at-${body.get('code')}`, token_type: 'Bearer', expires_in: 3600 })
  }),
  http.get('https://openidconnect.googleapis.com/v1/userinfo', ({ request }) => {
    const code = (request.headers.get('authorization') ?? '').replace('Bearer at-', '')
    const account = ACCOUNTS[code]
    if (!account) return new HttpResponse(null, { status: 401 })
    return HttpResponse.json({ sub: code, email: account.email, email_verified: account.verified })
  }),
  http.post('https://github.com/login/oauth/access_token', async ({ request }) => {
    const body = new URLSearchParams(await request.text())
    tokenRequests.push({ provider: 'github', body, auth: request.headers.get('authorization') })
    return HttpResponse.json({ access_token: `at-${body.get('code')}`, token_type: 'bearer', scope: 'read:user,user:email' })
  }),
  http.get('https://api.github.com/user/emails', ({ request }) => {
    const code = (request.headers.get('authorization') ?? '').replace('Bearer at-', '')
    const account = ACCOUNTS[code]
    if (!account) return new HttpResponse(null, { status: 401 })
    return HttpResponse.json([
      { email: 'noreply@users.github.test', verified: true, primary: false },
      { email: account.email, verified: account.verified, primary: true },
    ])
  }),
)

let app: TestApp
let users: SeededUsers
const db = () => testDb()

beforeAll(async () => {
  msw.listen({ onUnhandledRequest: 'bypass' })
  users = await seedAuth(db())
  app = await startTestApp({ env: OAUTH_ENV })
})
afterAll(async () => {
  await app?.close()
  msw.close()
})

interface Started {
  state: string
  challenge: string
  cookie: string
  location: URL
  setCookies: ReturnType<typeof parseSetCookies>
}

async function start(provider: string, redirectTo = '/settings/api-tokens'): Promise<Started> {
  const res = await fetch(`${app.url}/auth/${provider}`, {
    method: 'POST',
    redirect: 'manual',
    headers: { origin: app.url, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ redirectTo }),
  })
  expect(res.status).toBe(302)
  const location = new URL(res.headers.get('location')!)
  const setCookies = parseSetCookies(res)
  return {
    state: location.searchParams.get('state')!,
    challenge: location.searchParams.get('code_challenge')!,
    cookie: setCookies.map((c) => `${c.name}=${c.value}`).join('; '),
    location,
    setCookies,
  }
}

function callback(provider: string, params: { state?: string; code?: string }, cookie?: string) {
  const q = new URLSearchParams()
  if (params.state) q.set('state', params.state)
  if (params.code) q.set('code', params.code)
  return fetch(`${app.url}/auth/${provider}/callback?${q}`, { redirect: 'manual', headers: cookie ? { cookie } : {} })
}

const session = (res: Response) => parseSetCookies(res).find((c) => c.name === '__Host-wa_session' && c.value)

describe('OAuth sign-in', () => {
  it('shows a button per configured provider only', async () => {
    const html = await (await fetch(`${app.url}/login`)).text()
    expect(html).toContain('Continuer avec Google')
    expect(html).toContain('Continuer avec GitHub')
    expect(html).not.toContain('Microsoft')
    expect((await fetch(`${app.url}/auth/microsoft`, { method: 'POST', headers: { origin: app.url } })).status).toBe(404)
  })

  it('a GET never starts a flow', async () => {
    const res = await fetch(`${app.url}/auth/google`, { redirect: 'manual' })
    expect(res.status).toBe(200)
    expect(res.headers.getSetCookie()).toEqual([])
  })

  it('starts with state + PKCE S256 in a __Host- cookie of at most 10 minutes', async () => {
    const s = await start('google')
    expect(s.location.origin + s.location.pathname).toBe('https://accounts.google.com/o/oauth2/v2/auth')
    expect(s.location.searchParams.get('redirect_uri')).toBe(`${app.url}/auth/google/callback`)
    expect(s.location.searchParams.get('code_challenge_method')).toBe('S256')
    expect(s.state).toMatch(/^[A-Za-z0-9_-]{40,}$/)
    const stateCookie = s.setCookies.find((c) => c.name.startsWith('__Host-wa_oauth:'))!
    expect(stateCookie).toBeDefined()
    expect(stateCookie.attributes.secure).toBe(true)
    expect(stateCookie.attributes.httponly).toBe(true)
    expect(String(stateCookie.attributes.samesite).toLowerCase()).toBe('lax')
    expect(stateCookie.attributes.path).toBe('/')
    expect(stateCookie.attributes.domain).toBeUndefined()
    expect(Number(stateCookie.attributes['max-age'])).toBeLessThanOrEqual(600)
  })

  it('signs an existing user in by verified e-mail, checks PKCE, rotates the session, and the state is single use', async () => {
    const s = await start('google', '/settings/api-tokens')
    const before = tokenRequests.length
    const res = await callback('google', { state: s.state, code: 'code-admin' }, s.cookie)
    expect(res.status).toBe(302)
    expect(res.headers.get('location')).toBe('/settings/api-tokens')
    const cookie = session(res)
    expect(cookie).toBeDefined()
    // The verifier sent to the token endpoint matches the challenge sent to the browser.
    const sent = tokenRequests[before]!
    const verifier = sent.body.get('code_verifier')!
    expect(createHash('sha256').update(verifier).digest('base64url')).toBe(s.challenge)
    expect(sent.body.get('redirect_uri')).toBe(`${app.url}/auth/google/callback`)
    const features = await fetch(`${app.url}/api/settings/features`, {
      headers: { cookie: `__Host-wa_session=${cookie!.value}` },
    })
    expect(features.status).toBe(200)
    // OAuth cookies are cleared.
    expect(
      parseSetCookies(res)
        .filter((c) => c.name.startsWith('__Host-wa_oauth'))
        .every((c) => c.attributes['max-age'] === '0'),
    ).toBe(true)

    // Replay: same URL, same cookie → refused before any code exchange.
    const replay = await callback('google', { state: s.state, code: 'code-admin' }, s.cookie)
    expect(replay.status).toBe(400)
    expect(session(replay)).toBeUndefined()
    expect(tokenRequests.length).toBe(before + 1)

    const audit = await db()
      .selectFrom('audit_log')
      .select(['actor', 'outcome', 'details'])
      .where('action', '=', 'auth.login')
      .execute()
    expect(
      audit.some(
        (a) =>
          a.actor === `user:${users.owner}` && a.outcome === 'success' && (a.details as { method?: string }).method === 'oauth',
      ),
    ).toBe(true)
  })

  it("refuses a state that does not match the cookie (login CSRF with the attacker's own state)", async () => {
    const victim = await start('google')
    const attacker = await start('google')
    const res = await callback('google', { state: attacker.state, code: 'code-admin' }, victim.cookie)
    expect(res.status).toBe(400)
    expect(session(res)).toBeUndefined()
  })

  it('refuses a callback without the state cookie, without state, or with a state never issued', async () => {
    const s = await start('google')
    for (const res of [
      await callback('google', { state: s.state, code: 'code-admin' }),
      await callback('google', { code: 'code-admin' }, s.cookie),
      await callback('google', { state: 'forged-state-value-forged-state-value-0000', code: 'code-admin' }, s.cookie),
    ]) {
      expect(res.status).toBe(400)
      expect(session(res)).toBeUndefined()
    }
  })

  it('refuses a state older than 10 minutes', async () => {
    const s = await start('google')
    const key = `oauth-state:${createHash('sha256').update(s.state).digest('hex')}`
    await db()
      .updateTable('rate_limit_counters')
      .set({ window_start: new Date(Date.now() - 11 * 60_000) })
      .where('key', '=', key)
      .execute()
    const res = await callback('google', { state: s.state, code: 'code-admin' }, s.cookie)
    expect(res.status).toBe(400)
    expect(session(res)).toBeUndefined()
  })

  it('never links an unverified e-mail, and never creates an account for an unknown one', async () => {
    for (const code of ['code-unverified', 'code-stranger']) {
      const s = await start('google')
      const res = await callback('google', { state: s.state, code }, s.cookie)
      expect(res.status).toBe(400)
      expect(session(res)).toBeUndefined()
      expect(await res.text()).toContain('Aucun compte ne correspond à cet e-mail vérifié.')
    }
    expect(await db().selectFrom('users').select('email').where('email', '=', 'stranger@example.com').execute()).toEqual([])
  })

  it('GitHub: the primary verified address links; an unverified primary does not', async () => {
    const ok = await start('github')
    const res = await callback('github', { state: ok.state, code: 'code-admin' }, ok.cookie)
    expect(res.status).toBe(302)
    expect(session(res)).toBeDefined()
    const bad = await start('github')
    const refused = await callback('github', { state: bad.state, code: 'code-unverified' }, bad.cookie)
    expect(refused.status).toBe(400)
    expect(session(refused)).toBeUndefined()
  })
})
