import { createCookie } from '@remix-run/node'
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
  const chosen: unknown = await langCookie.parse(request.headers.get('cookie'))
  if (isLang(chosen)) return chosen
  const acceptLanguage = request.headers.get('accept-language')
  const [best] = new Negotiator({ headers: acceptLanguage === null ? {} : { 'accept-language': acceptLanguage } }).languages([
    ...LANGS,
  ])
  return best === 'en' ? 'en' : 'fr'
}
