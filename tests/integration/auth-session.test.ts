import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { hashPassword } from '../../adapters/auth/scrypt-password-hasher'
import { startTestApp, type TestApp } from '../utils/app'
import { parseSetCookies, seedAuth, TEST_PASSWORD, type SeededUsers } from '../utils/auth-fixtures'
import { testDb } from '../utils/db'

/**
 * Browser sign-in over real HTTP against the built app: cookie attributes, rotation, logout
 * revocation, CSRF on cookie-authenticated POSTs, open redirects, throttling, and the same
 * answer for an unknown e-mail and a wrong password.
 */
let app: TestApp
let users: SeededUsers
const db = () => testDb()
const WINDOW_SECONDS = 15 * 60

beforeAll(async () => {
  users = await seedAuth(db())
  app = await startTestApp()
})
afterAll(async () => {
  await app?.close()
})

async function login(
  email: string,
  password: string,
  opts: { cookie?: string; redirectTo?: string; origin?: string | null; lang?: string } = {},
) {
  const body = new URLSearchParams({ email, password })
  if (opts.redirectTo !== undefined) body.set('redirectTo', opts.redirectTo)
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' }
  if (opts.origin !== null) headers.origin = opts.origin ?? app.url
  if (opts.cookie) headers.cookie = opts.cookie
  if (opts.lang) headers['accept-language'] = opts.lang
  return fetch(`${app.url}/login`, { method: 'POST', body, redirect: 'manual', headers })
}

function sessionFrom(res: Response): string {
  const c = parseSetCookies(res).find((x) => x.name === '__Host-wa_session')
  if (!c || !c.value) throw new Error(`no session cookie (status ${res.status})`)
  return `__Host-wa_session=${c.value}`
}

const api = (cookie: string) => fetch(`${app.url}/api/settings/features`, { headers: { cookie } })
const page = (path: string, cookie?: string) =>
  fetch(`${app.url}${path}`, { redirect: 'manual', headers: cookie ? { cookie } : {} })

async function newUser(email: string, tenant = 'macrea', role: 'owner' | 'admin' | 'member' = 'admin'): Promise<string> {
  const row = await db()
    .insertInto('users')
    .values({ email, name: email, password_hash: await hashPassword(TEST_PASSWORD) })
    .returning('id')
    .executeTakeFirstOrThrow()
  await db().insertInto('memberships').values({ tenant_id: tenant, user_id: row.id, role }).execute()
  return row.id
}

/** Fixed 15-minute windows: never start a counting test in the last 30 s of one. */
async function awayFromWindowEdge(): Promise<void> {
  const left = WINDOW_SECONDS - (Math.floor(Date.now() / 1000) % WINDOW_SECONDS)
  if (left < 30) await new Promise((r) => setTimeout(r, (left + 1) * 1000))
}

describe('login page', () => {
  it('labels the fields "E-mail" / "Mot de passe" (French default) and "Email" / "Password" in English; no OAuth button when none is configured', async () => {
    const fr = await (await page('/login')).text()
    expect(fr).toMatch(/<label[^>]*for="email"[^>]*>E-mail<\/label>/)
    expect(fr).toMatch(/<label[^>]*for="password"[^>]*>Mot de passe<\/label>/)
    expect(fr).not.toContain('/auth/')
    const en = await (await fetch(`${app.url}/login`, { headers: { 'accept-language': 'en-US,en;q=0.9' } })).text()
    expect(en).toMatch(/<label[^>]*for="email"[^>]*>Email<\/label>/)
    expect(en).toMatch(/<label[^>]*for="password"[^>]*>Password<\/label>/)
  })

  it('pages redirect to /login with a safe redirectTo when signed out', async () => {
    const res = await page('/settings/api-tokens')
    expect(res.status).toBe(302)
    expect(res.headers.get('location')).toBe('/login?redirectTo=%2Fsettings%2Fapi-tokens')
  })
})

describe('session cookie', () => {
  it('login sets a __Host- cookie: Secure, HttpOnly, SameSite=Lax, Path=/, no Domain, random, ≤ 4096 bytes', async () => {
    const res = await login('admin@macrea.test', TEST_PASSWORD)
    expect(res.status).toBe(302)
    expect(res.headers.get('location')).toBe('/settings/whatsapp')
    const cookies = parseSetCookies(res)
    const c = cookies.find((x) => x.name === '__Host-wa_session')!
    expect(c).toBeDefined()
    expect(c.value).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect(c.attributes.secure).toBe(true)
    expect(c.attributes.httponly).toBe(true)
    expect(String(c.attributes.samesite).toLowerCase()).toBe('lax')
    expect(c.attributes.path).toBe('/')
    expect(c.attributes.domain).toBeUndefined()
    for (const x of cookies) expect(Buffer.byteLength(x.raw)).toBeLessThanOrEqual(4096)
    // Only the hash is stored.
    const stored = await db().selectFrom('sessions').select('id_hash').execute()
    expect(stored.map((r) => r.id_hash)).not.toContain(c.value)
    // The cookie authenticates pages and same-origin API reads.
    expect((await page('/settings/api-tokens', sessionFrom(res))).status).toBe(200)
    expect((await api(sessionFrom(res))).status).toBe(200)
  })

  it('rotates at login: the cookie presented before sign-in is revoked and never authenticated again', async () => {
    const first = sessionFrom(await login('admin@macrea.test', TEST_PASSWORD))
    const second = sessionFrom(await login('admin@macrea.test', TEST_PASSWORD, { cookie: first }))
    expect(second).not.toBe(first)
    expect((await api(second)).status).toBe(200)
    expect((await api(first)).status).toBe(401)
    const redirected = await page('/settings/api-tokens', first)
    expect(redirected.status).toBe(302)
    expect(redirected.headers.get('location')).toContain('/login')
  })

  it('logout revokes the session server-side (a replayed cookie is refused) and clears the cookie', async () => {
    const cookie = sessionFrom(await login('admin@macrea.test', TEST_PASSWORD))
    expect((await api(cookie)).status).toBe(200)
    const out = await fetch(`${app.url}/logout`, { method: 'POST', redirect: 'manual', headers: { cookie, origin: app.url } })
    expect(out.status).toBe(302)
    expect(out.headers.get('location')).toBe('/login')
    const cleared = parseSetCookies(out).find((x) => x.name === '__Host-wa_session')!
    expect(cleared.value).toBe('')
    expect(cleared.attributes['max-age']).toBe('0')
    expect((await api(cookie)).status).toBe(401)
    const audit = await db()
      .selectFrom('audit_log')
      .select(['action', 'actor', 'outcome'])
      .where('action', '=', 'auth.logout')
      .execute()
    expect(audit).toContainEqual({ action: 'auth.logout', actor: `user:${users.owner}`, outcome: 'success' })
  })

  it('idle and absolute expiry: a session past either limit is dead', async () => {
    const idle = sessionFrom(await login('admin@macrea.test', TEST_PASSWORD))
    const absolute = sessionFrom(await login('admin@macrea.test', TEST_PASSWORD))
    expect((await api(idle)).status).toBe(200)
    const { createHash } = await import('node:crypto')
    const hash = (c: string) => createHash('sha256').update(c.split('=')[1]!).digest('hex')
    await db()
      .updateTable('sessions')
      .set({ last_seen_at: new Date(Date.now() - 13 * 3600_000) })
      .where('id_hash', '=', hash(idle))
      .execute()
    await db()
      .updateTable('sessions')
      .set({ expires_at: new Date(Date.now() - 1000) })
      .where('id_hash', '=', hash(absolute))
      .execute()
    expect((await api(idle)).status).toBe(401)
    expect((await api(absolute)).status).toBe(401)
  })
})

describe('CSRF', () => {
  // Two kinds of form POSTs reach a page action: document POSTs (no JavaScript) and Remix data
  // requests (`?_data=`, JavaScript on). Remix 2.17 itself aborts a document POST whose Origin
  // host differs from Host (a bare 500, before our action runs); data requests and POSTs
  // without Origin reach our guard, which answers 403. Either way nothing changes.
  const form = (cookie: string, headers: Record<string, string>, body: Record<string, string>) => ({
    method: 'POST',
    redirect: 'manual' as const,
    headers: { cookie, 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(body),
  })

  it('cookie-authenticated cross-site POSTs are refused and change nothing', async () => {
    const cookie = sessionFrom(await login('admin@macrea.test', TEST_PASSWORD))
    const before = await db().selectFrom('api_tokens').select('jti').execute()
    const evil = { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' }
    const mint = { intent: 'mint', name: 'evil', ttl: '1d' }

    const data = await fetch(`${app.url}/settings/api-tokens?_data=routes%2Fsettings.api-tokens`, form(cookie, evil, mint))
    expect(data.status).toBe(403)
    expect(await data.json()).toMatchObject({ ok: false, error: 'CSRF_REJECTED' })
    const noOrigin = await fetch(`${app.url}/settings/api-tokens`, form(cookie, {}, mint))
    expect(noOrigin.status).toBe(403)
    const sameSite = await fetch(`${app.url}/settings/api-tokens`, form(cookie, { 'sec-fetch-site': 'same-site' }, mint))
    expect(sameSite.status).toBe(403)
    const documentPost = await fetch(`${app.url}/settings/api-tokens`, form(cookie, evil, mint))
    expect(documentPost.status).toBeGreaterThanOrEqual(400)
    expect(await db().selectFrom('api_tokens').select('jti').execute()).toEqual(before)

    const logoutData = await fetch(`${app.url}/logout?_data=routes%2Flogout`, form(cookie, evil, {}))
    expect(logoutData.status).toBe(403)
    const logoutDocument = await fetch(`${app.url}/logout`, form(cookie, evil, {}))
    expect(logoutDocument.status).toBeGreaterThanOrEqual(400)
    expect((await api(cookie)).status).toBe(200)

    const apiNoOrigin = await fetch(`${app.url}/api/wa/disconnect`, {
      method: 'POST',
      headers: { cookie, 'content-type': 'application/json' },
      body: '{}',
    })
    expect(apiNoOrigin.status).toBe(403)
    expect(await apiNoOrigin.json()).toMatchObject({ ok: false, error: 'CSRF_REJECTED' })
    const apiEvil = await fetch(`${app.url}/api/wa/disconnect`, {
      method: 'POST',
      headers: { cookie, 'content-type': 'application/json', ...evil },
      body: '{}',
    })
    expect(apiEvil.status).toBe(403)
  })

  it('a cross-site login form (login CSRF) is refused and signs nobody in', async () => {
    const body = { email: 'admin@macrea.test', password: TEST_PASSWORD }
    for (const res of [
      await fetch(`${app.url}/login?_data=routes%2Flogin`, form('', { origin: 'https://evil.example' }, body)),
      await fetch(`${app.url}/login`, form('', { 'sec-fetch-site': 'cross-site' }, body)),
      await fetch(`${app.url}/login`, form('', { origin: 'https://evil.example' }, body)),
    ]) {
      expect(res.status).toBeGreaterThanOrEqual(400)
      expect(parseSetCookies(res).find((c) => c.name === '__Host-wa_session')).toBeUndefined()
    }
    expect(
      (await fetch(`${app.url}/login?_data=routes%2Flogin`, form('', { origin: 'https://evil.example' }, body))).status,
    ).toBe(403)
  })

  it('a same-origin mint works (owner) and is refused for a member (403)', async () => {
    const owner = sessionFrom(await login('admin@macrea.test', TEST_PASSWORD))
    const ok = await fetch(`${app.url}/settings/api-tokens`, {
      method: 'POST',
      headers: { cookie: owner, origin: app.url, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ intent: 'mint', name: 'ci', ttl: '1d' }),
    })
    expect(ok.status).toBe(200)
    expect(await db().selectFrom('api_tokens').select('name').where('name', '=', 'ci').execute()).toHaveLength(1)
    const member = sessionFrom(await login('member@macrea.test', TEST_PASSWORD))
    const listed = await page('/settings/api-tokens', member)
    expect(listed.status).toBe(200)
    const html = await listed.text()
    expect(html).toContain('ci')
    expect(html).not.toContain('name="intent" value="mint"')
    const refused = await fetch(`${app.url}/settings/api-tokens`, {
      method: 'POST',
      headers: { cookie: member, origin: app.url, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ intent: 'mint', name: 'member-token', ttl: '1d' }),
    })
    expect(refused.status).toBe(403)
    expect(await db().selectFrom('api_tokens').select('name').where('name', '=', 'member-token').execute()).toHaveLength(0)
  })
})

describe('redirects', () => {
  it.each([
    ['//evil.example/x', '/settings/whatsapp'],
    ['https://evil.example/', '/settings/whatsapp'],
    ['/\\evil.example', '/settings/whatsapp'],
    ['/\t/evil.example', '/settings/whatsapp'],
    ['javascript:alert(1)', '/settings/whatsapp'],
    ['/settings/api-tokens?tab=1', '/settings/api-tokens?tab=1'],
  ])('redirectTo %j → %s', async (redirectTo, expected) => {
    const res = await login('admin@macrea.test', TEST_PASSWORD, { redirectTo })
    expect(res.status).toBe(302)
    expect(res.headers.get('location')).toBe(expected)
  })
})

describe('failed sign-in', () => {
  it('gives the same answer for an unknown e-mail and a wrong password', async () => {
    const unknown = await login('nobody@macrea.test', 'whatever-password')
    const wrong = await login('admin@blocked.test', 'wrong-password')
    expect(unknown.status).toBe(401)
    expect(wrong.status).toBe(401)
    // Byte for byte, but for the per-response CSP nonce (server/security-headers.ts).
    const withoutNonce = (html: string) => html.replace(/nonce="[^"]*"/g, 'nonce=""')
    const [a, b] = [withoutNonce(await unknown.text()), withoutNonce(await wrong.text())]
    expect(a).toContain('E-mail ou mot de passe incorrect')
    expect(a).toBe(b)
    expect(parseSetCookies(unknown).find((c) => c.name === '__Host-wa_session')).toBeUndefined()
    const failures = await db()
      .selectFrom('audit_log')
      .select(['actor', 'outcome'])
      .where('action', '=', 'auth.login')
      .where('outcome', '=', 'failure')
      .execute()
    expect(failures).toContainEqual({ actor: 'anonymous', outcome: 'failure' })
    expect(failures).toContainEqual({ actor: `user:${users.foreignOwner}`, outcome: 'failure' })
  })

  it('throttles an account after 5 failures, even for the right password, with the wait in words ("Réessayez dans 15 min")', async () => {
    await awayFromWindowEdge()
    await newUser('throttled@macrea.test')
    for (let i = 0; i < 5; i++) expect((await login('throttled@macrea.test', `wrong-${i}`)).status).toBe(401)
    const blocked = await login('throttled@macrea.test', TEST_PASSWORD)
    expect(blocked.status).toBe(429)
    const retry = Number(blocked.headers.get('retry-after'))
    expect(retry).toBeGreaterThan(0)
    expect(retry).toBeLessThanOrEqual(WINDOW_SECONDS)
    const text = await blocked.text()
    expect(text).toMatch(/Réessayez dans \d+\s(s|min)\./)
    expect(text).not.toMatch(/\d{3,}\ss\b/)
    const en = await login('throttled@macrea.test', TEST_PASSWORD, { lang: 'en' })
    expect(await en.text()).toMatch(/Try again in \d+ (sec|min)\./)
    // Another account is not affected by this one's lock.
    expect((await login('admin@macrea.test', TEST_PASSWORD)).status).toBe(302)
  })

  it('throttles an IP after 20 failures across accounts (password spraying)', async () => {
    await awayFromWindowEdge()
    const fresh = 'spray-target@macrea.test'
    await newUser(fresh)
    let blockedAt = 0
    for (let i = 1; i <= 21; i++) {
      const res = await login(`spray-${i}@nowhere.test`, 'Password1!')
      if (res.status === 429) {
        blockedAt = i
        break
      }
      expect(res.status).toBe(401)
    }
    expect(blockedAt).toBeGreaterThan(0)
    const res = await login(fresh, TEST_PASSWORD)
    expect(res.status).toBe(429)
    expect(await res.text()).toMatch(/Réessayez dans \d+\s(s|min)\./)
  })
})
