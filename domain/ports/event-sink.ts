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

/** `data` is the same JSON the REST API answers for the subject (status, or message). */
export interface CrmEvent {
  type: CrmEventType
  data: Record<string, unknown>
}
