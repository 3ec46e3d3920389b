import { t, type Lang, type MessageKey } from '~/utils/i18n'

/** Domain error code (or a form field problem) → readable text, in the page's language. */
const ERROR_KEYS: Record<string, MessageKey> = {
  WHATSAPP_DISABLED: 'api.whatsappDisabled',
  NOT_CONNECTED: 'api.notConnected',
  ALREADY_CONNECTED: 'api.alreadyConnected',
  INSTANCE_BUSY: 'api.instanceBusy',
  NO_INSTANCE_AVAILABLE: 'api.noInstance',
  RATE_LIMITED: 'api.rateLimited',
  UPSTREAM_UNAVAILABLE: 'api.upstream',
  UPSTREAM_AUTH: 'api.upstreamAuth',
  LINK_EXPIRED: 'api.linkExpired',
  CREDENTIALS_UNREADABLE: 'api.credentialsUnreadable',
  VALIDATION_FAILED: 'api.validation',
  INVALID_PHONE: 'wa.error.phone',
  INVALID_MESSAGE: 'wa.error.message',
  NO_RECIPIENT: 'wa.error.noRecipient',
}

export function errorText(lang: Lang, code: string, retryAfter?: number): string {
  return t(lang, ERROR_KEYS[code] ?? 'api.internal', { seconds: Math.max(1, Math.ceil(retryAfter ?? 5)) })
}

/** "4 min 05 s" / "12 s" for countdowns. */
export function durationText(lang: Lang, ms: number): string {
  const total = Math.max(0, Math.ceil(ms / 1000))
  const m = Math.floor(total / 60)
  const s = total % 60
  return m > 0 ? t(lang, 'time.minutesSeconds', { m, s: String(s).padStart(2, '0') }) : t(lang, 'time.seconds', { s })
}
