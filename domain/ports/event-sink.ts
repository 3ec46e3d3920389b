import type { ConnectionStatusResult } from '../whatsapp/get-connection-status'

/**
 * Events for the tenant's CRM (signed webhooks to its endpoints, docs/api.md#events). `emit`
 * stores the event and schedules its deliveries to every enabled endpoint subscribed to its
 * type; it never calls the endpoints itself, so a caller never waits on a CRM. Best effort for
 * the caller: the implementation logs (without the data) and swallows its own failures, since
 * the fact behind the event is already stored.
 */
export interface EventSink {
  /**
   * @example
   * await events.emit('macrea', { type: 'whatsapp.message.updated', data: { id, status: 'delivered' } })
   */
  emit(tenantId: string, event: CrmEvent): Promise<void>
}

export type CrmEventType = 'whatsapp.connection.updated' | 'whatsapp.message.updated' | 'whatsapp.message.received'

export const CRM_EVENT_TYPES: readonly CrmEventType[] = [
  'whatsapp.connection.updated',
  'whatsapp.message.updated',
  'whatsapp.message.received',
]

/**
 * `data` is the same JSON the REST API answers for the subject. A message event carries it
 * already (the message presenter's JSON); a connection event carries the status use case's value,
 * which the sink turns into `GET /api/wa/qr/status`'s JSON with the app's own presenter
 * (injected at the composition root: the domain does not import app/).
 */
export type CrmEvent = ConnectionUpdatedEvent | MessageEvent

export interface ConnectionUpdatedEvent {
  type: 'whatsapp.connection.updated'
  /** The status use case's own answer (what `GET /api/wa/qr/status` presents). */
  data: ConnectionStatusResult
}

export interface MessageEvent {
  type: 'whatsapp.message.updated' | 'whatsapp.message.received'
  data: Record<string, unknown>
}
