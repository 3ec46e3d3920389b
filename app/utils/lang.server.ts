import { createCookie } from '@remix-run/node'
import { parse as parseCookieHeader } from 'cookie'
import Negotiator from 'negotiator'
import { LANGS, isLang, type Lang } from './i18n'

/** The language the user picked (POST /set-lang): "fr" or "en", not sensitive, kept a year. */
export const langCookie = createCookie('lang', { path: '/', sameSite: 'lax', maxAge: 365 * 24 * 3600 })

/**
 * The page language: the `lang` cookie first (an explicit choice, set by POST /set-lang), then
 * the best of Accept-Language as `negotiator` ranks it (q-values, `en-GB` for `en`, `q=0` as
 * "not this one", `*`), else French. Server-only: the browser gets the result in loader data.
 */
export async function getLang(request: Request): Promise<Lang> {
  return langOfHeaders(request.headers.get('cookie'), request.headers.get('accept-language'))
}

/**
 * `getLang` from the two headers, synchronously: for the express edge (server/), which answers
 * before Remix and has no Fetch Request (decision 256). The `lang` cookie is Remix's unsigned
 * encoding of a JSON string (base64); lang.server.unit.test.ts checks it reads what
 * `langCookie.serialize` writes.
 */
export function langOfHeaders(cookieHeader: string | null | undefined, acceptLanguage: string | null | undefined): Lang {
  const chosen = cookieLang(cookieHeader)
  if (chosen) return chosen
  const [best] = new Negotiator({ headers: acceptLanguage ? { 'accept-language': acceptLanguage } : {} }).languages([...LANGS])
  return best === 'en' ? 'en' : 'fr'
}

function cookieLang(cookieHeader: string | null | undefined): Lang | null {
  if (!cookieHeader) return null
  const raw = parseCookieHeader(cookieHeader)['lang']
  if (!raw) return null
  try {
    const value: unknown = JSON.parse(Buffer.from(raw, 'base64').toString('utf8'))
    return isLang(value) ? value : null
  } catch {
    return null
  }
}
