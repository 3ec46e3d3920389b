import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestApp, type TestApp } from '../utils/app'
import { seedAuth } from '../utils/auth-fixtures'
import { testDb } from '../utils/db'

let app: TestApp
beforeAll(async () => {
  await seedAuth(testDb())
  app = await startTestApp()
})
afterAll(() => app.close())

const post = (path: string, headers: Record<string, string>) =>
  fetch(`${app.url}${path}`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html', ...headers },
    body: 'email=admin%40macrea.test&password=x',
  })

// The express backstop answers a clean 403 before Remix (which would otherwise abort a
// cross-site document POST with a bare 500).
describe('cross-site POST backstop', () => {
  it('refuses a cross-site document POST with 403, not 500', async () => {
    const res = await post('/login', { origin: 'https://evil.example' })
    expect(res.status).toBe(403)
    expect(await res.text()).toBe('Requête intersite refusée. (403)')
    const en = await post('/login', { origin: 'https://evil.example', 'accept-language': 'en' })
    expect(await en.text()).toBe('Cross-site request rejected. (403)')
  })

  it('refuses Sec-Fetch-Site: cross-site and Origin: null', async () => {
    expect((await post('/login', { 'sec-fetch-site': 'cross-site' })).status).toBe(403)
    expect((await post('/logout', { origin: 'null' })).status).toBe(403)
  })

  it('answers the JSON envelope on /api and data requests', async () => {
    const res = await fetch(`${app.url}/api/wa/disconnect`, { method: 'POST', headers: { origin: 'https://evil.example' } })
    expect(res.status).toBe(403)
    expect(await res.json()).toEqual({ ok: false, error: 'CSRF_REJECTED', message: 'Requête intersite refusée.' })
    const en = await fetch(`${app.url}/api/wa/disconnect`, {
      method: 'POST',
      headers: { origin: 'https://evil.example', 'accept-language': 'en-GB,en;q=0.9' },
    })
    expect(await en.json()).toEqual({ ok: false, error: 'CSRF_REJECTED', message: 'Cross-site request rejected.' })
  })

  it('lets same-origin posts and Bearer API calls through to the app', async () => {
    const same = await post('/login', { origin: app.url })
    expect(same.status).not.toBe(403)
    const bearer = await fetch(`${app.url}/api/wa/disconnect`, {
      method: 'POST',
      headers: { origin: 'https://partner.example', authorization: 'Bearer not-a-jwt' },
    })
    expect(bearer.status).toBe(401)
  })
})
