import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestApp, type TestApp } from '../utils/app'
import { parseSetCookies } from '../utils/auth-fixtures'

/**
 * Which language a page is served in: the `lang` cookie set by POST /set-lang, else
 * Accept-Language as HTTP ranks it (RFC 9110 §12.5.4: q-values, region subtags, `*`, `q=0`
 * meaning "not acceptable"), else French.
 */
let app: TestApp
beforeAll(async () => {
  app = await startTestApp()
})
afterAll(async () => {
  await app?.close()
})

async function loginPageLang(headers: Record<string, string>): Promise<string> {
  const html = await (await fetch(`${app.url}/login`, { headers })).text()
  return /<main class="auth-page" lang="(\w+)"/.exec(html)?.[1] ?? 'none'
}

describe('page language', () => {
  it.each([
    ['no header', undefined, 'fr'],
    ['a region subtag of English', 'en-GB,en;q=0.9', 'en'],
    ['French preferred by q-value', 'en;q=0.4, fr-CA;q=0.8', 'fr'],
    ['English refused with q=0 (the only language named)', 'en;q=0', 'fr'],
    ['the wildcard ranks above a weakly wanted English', '*;q=0.5, en;q=0.1', 'fr'],
    ['neither language offered', 'de-DE, es;q=0.5', 'fr'],
  ])('Accept-Language, %s (%s) → %s', async (_label, acceptLanguage, expected) => {
    expect(await loginPageLang(acceptLanguage === undefined ? {} : { 'accept-language': acceptLanguage })).toBe(expected)
  })

  it('the choice made on POST /set-lang wins over Accept-Language, until changed', async () => {
    const choose = async (lang: string, cookie?: string) => {
      const res = await fetch(`${app.url}/set-lang`, {
        method: 'POST',
        redirect: 'manual',
        headers: { 'content-type': 'application/x-www-form-urlencoded', origin: app.url, ...(cookie ? { cookie } : {}) },
        body: new URLSearchParams({ lang, redirectTo: '/login' }),
      })
      expect(res.status).toBe(303)
      const set = parseSetCookies(res).find((c) => c.name === 'lang')
      expect(set).toBeDefined()
      return `lang=${set!.value}`
    }
    const en = await choose('en')
    expect(await loginPageLang({ cookie: en, 'accept-language': 'fr' })).toBe('en')
    const fr = await choose('fr', en)
    expect(await loginPageLang({ cookie: fr, 'accept-language': 'en' })).toBe('fr')
  })
})
