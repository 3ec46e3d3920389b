import Negotiator from 'negotiator'
import { LANGS, type Lang } from './i18n'

/**
 * The page language: the `lang` cookie first (an explicit choice, set by POST /set-lang), then
 * the best of Accept-Language as `negotiator` ranks it (q-values, `en-GB` for `en`, `q=0` as
 * "not this one", `*`), else French. Server-only: the browser gets the result in loader data.
 */
export function getLang(request: Request): Lang {
  const chosen = /(?:^|;\s*)lang=(fr|en)(?:;|$)/.exec(request.headers.get('cookie') ?? '')?.[1]
  if (chosen === 'fr' || chosen === 'en') return chosen
  const acceptLanguage = request.headers.get('accept-language')
  const [best] = new Negotiator({ headers: acceptLanguage === null ? {} : { 'accept-language': acceptLanguage } }).languages([...LANGS])
  return best === 'en' ? 'en' : 'fr'
}
