import type { ConnectionState } from '../whatsapp/connection-state'

/** What subscribers (SSE streams of the tenant) receive when a tenant's status changes. */
export interface StatusSnapshot {
  tenantId: string
  status: ConnectionState
  connected: boolean
  phoneNumber: string | null
}

/**
 * Fans a tenant's new status out to every app process (PostgreSQL LISTEN/NOTIFY → SSE).
 * Snapshots contain no secrets; the phone number is personal data: do not log it at info level.
 */
export interface StatusPublisher {
  /**
   * Publishes the snapshot. Delivery is best effort: callers have already stored the state,
   * so a failure here is logged, not surfaced to the user.
   *
   * @example
   * await publisher.publish({ tenantId: 'macrea', status: 'authorized', connected: true, phoneNumber: '+33612345678' })
   */
  publish(snapshot: StatusSnapshot): Promise<void>
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
