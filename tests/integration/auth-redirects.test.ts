import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestApp, type TestApp } from '../utils/app'
import { parseSetCookies, seedAuth, TEST_PASSWORD } from '../utils/auth-fixtures'
import { testDb } from '../utils/db'

/**
 * Open redirects (issue 13): every place that redirects to a caller-chosen path — the login form,
 * the login page when already signed in, the language switch — sends hostile paths to the
 * fallback, including those that only become `//host` once dot-segments are resolved.
 */
let app: TestApp
let cookie: string

const FALLBACK = '/settings/whatsapp'
const HOSTILE = [
  '//evil.example/x',
  'https://evil.example/',
  '/\\evil.example',
  '/\t/evil.example',
  'javascript:alert(1)',
  '/.//evil.example/phish',
  '/a/..//evil.example/x',
  '/..//evil.example',
  '/%2e%2e//evil.example',
  '/a/%2E%2e/%2e%2e//evil.example/x',
  '/./\\evil.example',
  '/.%2f/../..//evil.example',
]
const SAFE: Array<[string, string]> = [
  ['/settings/api-tokens?tab=1', '/settings/api-tokens?tab=1'],
  ['/settings/./api-tokens', '/settings/api-tokens'],
  ['/a/../settings/whatsapp#x', '/settings/whatsapp#x'],
]
const CASES: Array<[string, string]> = [...HOSTILE.map((h): [string, string] => [h, FALLBACK]), ...SAFE]

beforeAll(async () => {
  await seedAuth(testDb())
  app = await startTestApp()
  cookie = await signIn()
})
afterAll(async () => {
  await app?.close()
})

async function signIn(redirectTo?: string): Promise<string> {
  const res = await postLogin(redirectTo)
  const c = parseSetCookies(res).find((x) => x.name === '__Host-wa_session')
  if (!c?.value) throw new Error(`no session (status ${res.status})`)
  return `__Host-wa_session=${c.value}`
}

function postLogin(redirectTo?: string): Promise<Response> {
  const body = new URLSearchParams({ email: 'admin@macrea.test', password: TEST_PASSWORD })
  if (redirectTo !== undefined) body.set('redirectTo', redirectTo)
  return fetch(`${app.url}/login`, {
    method: 'POST',
    body,
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin: app.url },
  })
}

describe.each(CASES)('redirectTo %j', (redirectTo, expected) => {
  it(`POST /login → ${expected}`, async () => {
    const res = await postLogin(redirectTo)
    expect(res.status).toBe(302)
    expect(res.headers.get('location')).toBe(expected)
  })

  it(`GET /login while signed in → ${expected}`, async () => {
    const res = await fetch(`${app.url}/login?redirectTo=${encodeURIComponent(redirectTo)}`, {
      redirect: 'manual',
      headers: { cookie },
    })
    expect(res.status).toBe(302)
    expect(res.headers.get('location')).toBe(expected)
  })

  it(`POST /set-lang → ${expected}`, async () => {
    const res = await fetch(`${app.url}/set-lang`, {
      method: 'POST',
      body: new URLSearchParams({ lang: 'en', redirectTo }),
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: app.url, cookie },
    })
    expect(res.status).toBe(303)
    expect(res.headers.get('location')).toBe(expected)
  })
})
