/** The `intent` values of the settings page forms, shared by the route, its UI and the tests. */
export const INTENTS = {
  linkQr: 'link-qr',
  linkPhone: 'link-phone',
  refreshQr: 'refresh-qr',
  sendTest: 'send-test',
  disconnect: 'disconnect',
  requestUpgrade: 'request-upgrade',
  // Reboot and remove (decisions 210–211)
  reboot: 'reboot',
  deleteNumber: 'delete-number',
} as const

export type Intent = (typeof INTENTS)[keyof typeof INTENTS]

const ALL: ReadonlySet<string> = new Set(Object.values(INTENTS))

export function isIntent(value: unknown): value is Intent {
  return typeof value === 'string' && ALL.has(value)
}

/** `?confirm=disconnect`: the confirmation step of "Déconnecter" (works without JavaScript). */
export const CONFIRM_PARAM = 'confirm'
export const CONFIRM_DISCONNECT = 'disconnect'

/** `?confirm=delete-number`: the confirmation step of "Supprimer le numéro" (partner mode). */
export const CONFIRM_DELETE_NUMBER = 'delete-number'
/** The checkbox the delete confirmation requires (the server refuses the intent without it). */
export const DELETE_UNDERSTOOD_FIELD = 'understood'

export const PAGE_PATH = '/settings/whatsapp'
