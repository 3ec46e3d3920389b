/**
 * The states a Green-API WhatsApp instance reports (getStateInstance / stateInstanceChanged).
 * `sleepMode` is deprecated upstream but still mapped: we show "phone offline".
 */
export const CONNECTION_STATES = ['notAuthorized', 'authorized', 'blocked', 'starting', 'yellowCard', 'sleepMode'] as const

export type ConnectionState = (typeof CONNECTION_STATES)[number]

export function isConnectionState(value: unknown): value is ConnectionState {
  return typeof value === 'string' && (CONNECTION_STATES as readonly string[]).includes(value)
}
