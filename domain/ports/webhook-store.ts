import type { CrmEventType } from './event-sink'

/** A tenant's CRM endpoint. `secretEncrypted` is the vault envelope of its `whsec_…` secret. */
export interface WebhookEndpoint {
  id: string
  tenantId: string
  url: string
  /** Subscribed types; null = every type. */
  events: CrmEventType[] | null
  secretEncrypted: string
  enabled: boolean
  disabledAt: Date | null
  /** Why it was disabled (a short code, e.g. `retries_exhausted`). */
  disabledReason: string | null
  createdAt: Date
  /** Who created it (`user:<id>`). */
  createdBy: string
}

/** One event as stored: `id` is the `webhook-id`, `payloadEncrypted` the vault envelope of its data. */
export interface StoredCrmEvent {
  id: string
  tenantId: string
  type: CrmEventType
  payloadEncrypted: string
  createdAt: Date
}

export type DeliveryStatus = 'pending' | 'succeeded' | 'failed' | 'exhausted'

/** One event to one endpoint. `failed` = the last try failed and another is planned. */
export interface WebhookDelivery {
  id: string
  tenantId: string
  eventId: string
  endpointId: string
  status: DeliveryStatus
  attempts: number
  nextAttemptAt: Date | null
  /** A failure after this time exhausts the delivery (the 24 h retry window). */
  retryUntil: Date
  lastAttemptAt: Date | null
  lastHttpStatus: number | null
  lastError: string | null
  createdAt: Date
}

/** The outcome of one POST. `responseEncrypted`: vault envelope of at most 1 KiB of the answer. */
export interface DeliveryAttempt {
  id: string
  deliveryId: string
  at: Date
  httpStatus: number | null
  error: string | null
  durationMs: number
  responseEncrypted: string | null
}

export interface DeliveryWithAttempts extends WebhookDelivery {
  eventType: CrmEventType
  /** Newest first. */
  attemptLog: DeliveryAttempt[]
}

/** What a finished attempt changes on its delivery; `nextAttemptAt` set = schedule that retry. */
export interface DeliveryOutcome {
  status: Exclude<DeliveryStatus, 'pending'>
  nextAttemptAt: Date | null
}

/**
 * Endpoints, events, deliveries and attempts (PostgreSQL: adapters/kysely/kysely-webhook-store.ts).
 * Every tenant-facing method takes the tenant id and finds nothing of another tenant. Scheduling
 * a delivery's job is part of the same transaction as the row that asks for it, so a delivery
 * never exists without its job (and a rolled-back one never runs).
 */
export interface WebhookStore {
  createEndpoint(endpoint: WebhookEndpoint): Promise<void>
  listEndpoints(tenantId: string): Promise<WebhookEndpoint[]>
  findEndpoint(tenantId: string, id: string): Promise<WebhookEndpoint | null>
  /** True when it existed (its deliveries and attempts go with it). */
  deleteEndpoint(tenantId: string, id: string): Promise<boolean>
  replaceSecret(tenantId: string, id: string, secretEncrypted: string): Promise<boolean>
  /** True only for the call that disabled it (an already-disabled endpoint is left as it was). */
  disableEndpoint(tenantId: string, id: string, at: Date, reason: string): Promise<boolean>

  /**
   * In one transaction: stores the event, one `pending` delivery per enabled endpoint of the
   * tenant subscribed to its type (ids from `newId`), and a delivery job for each. Returns the
   * delivery ids (none when no endpoint listens).
   */
  recordEvent(event: StoredCrmEvent, plan: { newId: () => string; retryUntil: Date }): Promise<string[]>

  /** A delivery with its event and endpoint, for the worker (no tenant: the job names the delivery). */
  loadDelivery(
    deliveryId: string,
  ): Promise<{ delivery: WebhookDelivery; event: StoredCrmEvent; endpoint: WebhookEndpoint } | null>

  /** In one transaction: appends the attempt, updates the delivery, schedules its retry if any. */
  recordAttempt(attempt: DeliveryAttempt, outcome: DeliveryOutcome): Promise<void>

  /**
   * Resend: the delivery back to `pending`, a new retry window, re-enables its endpoint and
   * schedules a try now (one transaction). False when the tenant has no such delivery.
   */
  resetDelivery(tenantId: string, deliveryId: string, input: { now: Date; retryUntil: Date }): Promise<boolean>

  /** The endpoint's most recent deliveries (newest first) with their latest attempts. */
  listDeliveries(
    tenantId: string,
    endpointId: string,
    limits: { deliveries: number; attemptsEach: number },
  ): Promise<DeliveryWithAttempts[]>

  /**
   * Deletes events created before `cutoff` with their deliveries and attempts (their payloads
   * copy message texts: the messages' retention applies to them too). Returns how many events.
   */
  purgeEventsBefore(cutoff: Date): Promise<number>
}
