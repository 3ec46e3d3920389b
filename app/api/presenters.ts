import type { AddonEnd, ConnectionStatusResult } from '../../domain/whatsapp'
import { messageView, type MessageRecord, type MessageView } from '../../domain/messages'
import type { StatusResponse } from './schemas'

/**
 * The one status JSON: `GET /api/wa/qr/status`, every `status` event of `GET /api/wa/events`
 * and the settings page's view all start here. The seed contract's keys first, then our
 * optional ones, absent rather than false or null (dates as ISO strings).
 */
export function presentStatus(s: ConnectionStatusResult, addonEnd?: AddonEnd | null): StatusResponse {
  return {
    connected: s.connected,
    status: s.status,
    ...(s.account ? { phoneNumber: s.account.phone } : {}),
    checkedAt: s.checkedAt.toISOString(),
    ...(s.stale ? { stale: true } : {}),
    ...(s.linkExpired ? { linkExpired: true } : {}),
    ...(s.linkExpiresAt ? { linkExpiresAt: s.linkExpiresAt.toISOString() } : {}),
    ...(addonEnd ? { addonEndedAt: addonEnd.endedAt.toISOString(), unlinkAt: addonEnd.unlinkAt.toISOString() } : {}),
  }
}

/**
 * A message as `GET /api/wa/messages/:id` answers it: the domain's one view, the same JSON the
 * `whatsapp.message.updated` event carries (domain/messages/message-view.ts).
 */
export function presentMessage(m: MessageRecord): MessageView {
  return messageView(m)
}
