import type { Lang } from '../../utils/i18n'
import { durationWords } from '../../utils/words'

/** "5 min" / "12 s" for countdowns (a delay from now reads better as `relativeWords`: "dans 5 min"). */
export function durationText(lang: Lang, ms: number): string {
  return durationWords(lang, ms)
}
