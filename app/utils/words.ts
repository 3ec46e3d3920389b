import type { Lang } from './i18n'

/**
 * Numbers, durations and prices as a French or English reader expects them, through `Intl`
 * (CLDR data shipped with Node and browsers: no dependency). Used by the pages and by the API's
 * `message` texts (docs/decisions/220-words-durations-prices.md).
 */

/** The locale of each page language: British English (no "min." or "hr." abbreviations). */
export const LOCALES: Record<Lang, string> = { fr: 'fr-FR', en: 'en-GB' }

/** The WhatsApp Pro add-on's monthly price, in euros. */
export const ADDON_MONTHLY_PRICE_EUR = 15

const SECOND = 1000
const MINUTE = 60 * SECOND
const HOUR = 60 * MINUTE
const DAY = 24 * HOUR

/**
 * A delay from now in words: "dans 59 min", "in 20 sec", "il y a 3 h", "3 hr ago".
 * The largest unit that fits; a future delay is rounded up below an hour (a wait is never
 * announced shorter than it is: 3525 s is "dans 59 min"), to the nearest hour or day beyond.
 */
export function relativeWords(lang: Lang, ms: number): string {
  const format = new Intl.RelativeTimeFormat(LOCALES[lang], { style: 'short', numeric: 'always' })
  const sign = ms < 0 ? -1 : 1
  const abs = Math.abs(ms)
  const up = (unit: number) => (sign > 0 ? Math.ceil(abs / unit) : Math.floor(abs / unit))
  if (up(SECOND) < 60) return format.format(sign * up(SECOND), 'second')
  if (up(MINUTE) < 60) return format.format(sign * up(MINUTE), 'minute')
  if (Math.round(abs / HOUR) < 24) return format.format(sign * Math.max(1, Math.round(abs / HOUR)), 'hour')
  return format.format(sign * Math.round(abs / DAY), 'day')
}

/** A length of time without direction, same units and rounding: "59 min", "20 s", "3 h". */
export function durationWords(lang: Lang, ms: number): string {
  const unit = (name: 'second' | 'minute' | 'hour' | 'day', n: number) =>
    new Intl.NumberFormat(LOCALES[lang], { style: 'unit', unit: name, unitDisplay: 'short' }).format(n)
  const abs = Math.max(0, ms)
  if (Math.ceil(abs / SECOND) < 60) return unit('second', Math.ceil(abs / SECOND))
  if (Math.ceil(abs / MINUTE) < 60) return unit('minute', Math.ceil(abs / MINUTE))
  if (Math.round(abs / HOUR) < 24) return unit('hour', Math.round(abs / HOUR))
  return unit('day', Math.round(abs / DAY))
}

/** `relativeWords` for a whole number of seconds (Retry-After values). */
export const inSecondsWords = (lang: Lang, seconds: number) => relativeWords(lang, seconds * SECOND)

/** "15 €/mois" (no-break space before €, as CLDR has French) / "€15/month". */
export function monthlyPrice(lang: Lang, euros: number = ADDON_MONTHLY_PRICE_EUR): string {
  const amount = new Intl.NumberFormat(LOCALES[lang], {
    style: 'currency',
    currency: 'EUR',
    minimumFractionDigits: Number.isInteger(euros) ? 0 : 2,
    maximumFractionDigits: 2,
  }).format(euros)
  return lang === 'fr' ? `${amount}/mois` : `${amount}/month`
}
