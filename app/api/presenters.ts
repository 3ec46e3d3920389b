import type { DeliveryView, EndpointView } from '../../domain/webhooks'
import type { CrmEvent } from '../../domain/ports/event-sink'
import { adviceFor, type AddonEnd, type ConnectionStatusResult, type StatusHistoryEntry } from '../../domain/whatsapp'
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
    ...(s.account?.name ? { profileName: s.account.name } : {}),
    ...(s.account?.picture ? { pictureUrl: profilePictureUrl(s.account.picture) } : {}),
    checkedAt: s.checkedAt.toISOString(),
    ...(s.stale ? { stale: true } : {}),
    ...(s.linkExpired ? { linkExpired: true } : {}),
    ...(s.linkExpiresAt ? { linkExpiresAt: s.linkExpiresAt.toISOString() } : {}),
    ...(adviceFor(s.status) ? { advice: adviceFor(s.status) } : {}),
    ...(addonEnd ? { addonEndedAt: addonEnd.endedAt.toISOString(), unlinkAt: addonEnd.unlinkAt.toISOString() } : {}),
    ...(s.wrongNumber ? { wrongNumber: s.wrongNumber } : {}),
  }
}

/**
 * Where the linked account's picture is served: our own origin, versioned by its digest so a
 * browser may keep it (decision 240). Never the upstream (WhatsApp CDN) URL.
 */
export function profilePictureUrl(version: string): string {
  return `/api/wa/profile-picture?v=${encodeURIComponent(version)}`
}

/**
 * A message as `GET /api/wa/messages/:id` answers it: the domain's one view, the same JSON the
 * `whatsapp.message.updated` event carries (domain/messages/message-view.ts).
 */
export function presentMessage(m: MessageRecord): MessageView {
  return messageView(m)
}

/**
 * A CRM event's `data` as its receivers get it: a connection event is the status route's JSON
 * (this module's presentStatus, so the two cannot drift); message events already carry the
 * message JSON. Injected into the event sink by the composition root (the domain cannot import app/).
 */
export function presentCrmEventData(event: CrmEvent): Record<string, unknown> {
  return event.type === 'whatsapp.connection.updated' ? presentStatus(event.data) : event.data
}

/** A CRM endpoint as the API and the page show it: never its secret; absent rather than null. */
export function presentWebhookEndpoint(e: EndpointView) {
  return {
    id: e.id,
    url: e.url,
    events: e.events,
    allEvents: e.allEvents,
    enabled: e.enabled,
    ...(e.disabledAt ? { disabledAt: e.disabledAt.toISOString() } : {}),
    ...(e.disabledReason ? { disabledReason: e.disabledReason } : {}),
    createdAt: e.createdAt.toISOString(),
  }
}

export function presentWebhookDelivery(d: DeliveryView) {
  return {
    id: d.id,
    eventId: d.eventId,
    eventType: d.eventType,
    status: d.status,
    attempts: d.attempts,
    ...(d.nextAttemptAt ? { nextAttemptAt: d.nextAttemptAt.toISOString() } : {}),
    createdAt: d.createdAt.toISOString(),
    attemptLog: d.attemptLog.map((a) => ({
      at: a.at.toISOString(),
      ...(a.httpStatus !== null ? { httpStatus: a.httpStatus } : {}),
      ...(a.error ? { error: a.error } : {}),
      durationMs: a.durationMs,
      ...(a.response ? { response: a.response } : {}),
    })),
  }
}

/**
 * One entry of `GET /api/wa/timeline` (and the page's history): states, source and reason
 * codes, never a phone or an instance id; `from` absent on a tenant's first entry.
 */
export function presentStatusEvent(e: StatusHistoryEntry) {
  return {
    id: e.id,
    at: e.at.toISOString(),
    ...(e.from ? { from: e.from } : {}),
    to: e.to,
    source: e.source,
    reason: e.reason,
  }
}
