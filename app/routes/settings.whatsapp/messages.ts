import { t, type Lang } from '../../utils/i18n'

/** "4 min 05 s" / "12 s" for countdowns. */
export function durationText(lang: Lang, ms: number): string {
  const total = Math.max(0, Math.ceil(ms / 1000))
  const m = Math.floor(total / 60)
  const s = total % 60
  return m > 0 ? t(lang, 'time.minutesSeconds', { m, s: String(s).padStart(2, '0') }) : t(lang, 'time.seconds', { s })
}
