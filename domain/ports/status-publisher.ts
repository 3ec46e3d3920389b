import type { ConnectionStatusResult } from '../whatsapp/get-connection-status'

/**
 * Fans a tenant's new status out to every app process (PostgreSQL LISTEN/NOTIFY → SSE). What
 * is published is the status use case's own answer (`ConnectionStatusResult`), so a pushed
 * status and a requested one are one value, presented once. It holds no secret; the phone
 * number is personal data: do not log it at info level.
 */
export interface StatusPublisher {
  /**
   * Publishes the tenant's status. Delivery is best effort: callers have already stored the
   * state, so a failure here is logged, not surfaced to the user.
   *
   * @example
   * await publisher.publish('macrea', { connected: true, status: 'authorized', account: { phone: '+33612345678' }, checkedAt: now })
   */
  publish(tenantId: string, status: ConnectionStatusResult): Promise<void>
}

/** A message's new status, for the tenant's open pages (ids and status only: no text, no phone). */
export interface MessageStatusSignal {
  tenantId: string
  messageId: string
  status: string
}

/** Fans a message's status change out to every app process (same channel as the status). Best effort. */
export interface MessageStatusPublisher {
  /** @example await publisher.publishMessage({ tenantId: 'macrea', messageId, status: 'delivered' }) */
  publishMessage(signal: MessageStatusSignal): Promise<void>
}
