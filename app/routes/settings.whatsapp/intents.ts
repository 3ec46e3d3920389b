/** The `intent` values of the settings page forms, shared by the route, its UI and the tests. */
export const INTENTS = {
  linkQr: 'link-qr',
  linkPhone: 'link-phone',
  refreshQr: 'refresh-qr',
  sendTest: 'send-test',
  disconnect: 'disconnect',
  requestUpgrade: 'request-upgrade',
} as const

export type Intent = (typeof INTENTS)[keyof typeof INTENTS]

const ALL: ReadonlySet<string> = new Set(Object.values(INTENTS))

export function isIntent(value: unknown): value is Intent {
  return typeof value === 'string' && ALL.has(value)
}

/** `?confirm=disconnect`: the confirmation step of "Déconnecter" (works without JavaScript). */
export const CONFIRM_PARAM = 'confirm'
export const CONFIRM_DISCONNECT = 'disconnect'

export const PAGE_PATH = '/settings/whatsapp'
