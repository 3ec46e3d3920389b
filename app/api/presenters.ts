import type { ConnectionStatusResult } from '../../domain/whatsapp'
import { messageView, type MessageRecord, type MessageView } from '../../domain/messages'
import type { StatusSnapshot } from '../../domain/ports/status-publisher'
import type { StatusResponse } from './schemas'

/**
 * The one status JSON: `GET /api/wa/qr/status`, every `status` event of `GET /api/wa/events`
 * and the settings page's view all start here. The seed contract's keys first, then our
 * optional ones, absent rather than false or null (dates as ISO strings).
 */
export function presentStatus(s: ConnectionStatusResult): StatusResponse {
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

/**
 * A pushed status change (PostgreSQL NOTIFY, any app process) as the same JSON: it was observed
 * just now, and carries no link-attempt fields (the page re-reads those through its loader).
 */
export function presentPushedStatus(snapshot: StatusSnapshot, receivedAt: Date): StatusResponse {
  return presentStatus({
    connected: snapshot.connected,
    status: snapshot.status,
    ...(snapshot.connected && snapshot.phoneNumber ? { phoneNumber: snapshot.phoneNumber } : {}),
    checkedAt: receivedAt,
  })
}

/**
 * A message as `GET /api/wa/messages/:id` answers it: the domain's one view, the same JSON the
 * `whatsapp.message.updated` event carries (domain/messages/message-view.ts).
 */
export function presentMessage(m: MessageRecord): MessageView {
  return messageView(m)
}
