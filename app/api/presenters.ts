import type { ConnectionStatusResult } from '../../domain/whatsapp'

/** The status JSON of the seed contract plus our optional fields (dates as ISO strings). */
export function statusBody(s: ConnectionStatusResult) {
  return {
    connected: s.connected,
    status: s.status,
    ...(s.phoneNumber ? { phoneNumber: s.phoneNumber } : {}),
    checkedAt: s.checkedAt.toISOString(),
    ...(s.stale ? { stale: true } : {}),
    ...(s.linkExpired ? { linkExpired: true } : {}),
    ...(s.linkExpiresAt ? { linkExpiresAt: s.linkExpiresAt.toISOString() } : {}),
  }
}

