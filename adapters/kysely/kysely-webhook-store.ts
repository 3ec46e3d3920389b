import { sql, type Kysely } from 'kysely'
import { z } from 'zod'
import type { Database } from '../../db/schema'
import { CRM_EVENT_TYPES } from '../../domain/ports/event-sink'
import type {
  DeliveryAttempt,
  DeliveryOutcome,
  DeliveryWithAttempts,
  StoredCrmEvent,
  WebhookDelivery,
  WebhookEndpoint,
  WebhookStore,
} from '../../domain/ports/webhook-store'
import { addJob } from '../queue/graphile-job-queue'

const date = z.coerce.date()
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
const EventType = z.enum(CRM_EVENT_TYPES as [string, ...string[]]).transform((t) => t as StoredCrmEvent['type'])

const EndpointRow = z.object({
  id: z.string(),
  tenant_id: z.string(),
  url: z.string(),
  events: z.array(EventType).nullable(),
  secret_encrypted: z.string(),
  enabled: z.boolean(),
  disabled_at: date.nullable(),
  disabled_reason: z.string().nullable(),
  created_at: date,
  created_by: z.string(),
})
const EventRow = z.object({
  id: z.string(),
  tenant_id: z.string(),
  type: EventType,
  payload_encrypted: z.string(),
  created_at: date,
})
const DeliveryRow = z.object({
  id: z.string(),
  tenant_id: z.string(),
  event_id: z.string(),
  endpoint_id: z.string(),
  status: z.enum(['pending', 'succeeded', 'failed', 'exhausted']),
  attempts: z.number().int(),
  next_attempt_at: date.nullable(),
  retry_until: date,
  last_attempt_at: date.nullable(),
  last_http_status: z.number().int().nullable(),
  last_error: z.string().nullable(),
  created_at: date,
})
const AttemptRow = z.object({
  id: z.string(),
  delivery_id: z.string(),
  at: date,
  http_status: z.number().int().nullable(),
  error: z.string().nullable(),
  duration_ms: z.number().int(),
  response_encrypted: z.string().nullable(),
})

function toEndpoint(raw: unknown): WebhookEndpoint {
  const r = EndpointRow.parse(raw)
  return {
    id: r.id,
    tenantId: r.tenant_id,
    url: r.url,
    events: r.events,
    secretEncrypted: r.secret_encrypted,
    enabled: r.enabled,
    disabledAt: r.disabled_at,
    disabledReason: r.disabled_reason,
    createdAt: r.created_at,
    createdBy: r.created_by,
  }
}
function toEvent(raw: unknown): StoredCrmEvent {
  const r = EventRow.parse(raw)
  return { id: r.id, tenantId: r.tenant_id, type: r.type, payloadEncrypted: r.payload_encrypted, createdAt: r.created_at }
}
function toDelivery(raw: unknown): WebhookDelivery {
  const r = DeliveryRow.parse(raw)
  return {
    id: r.id,
    tenantId: r.tenant_id,
    eventId: r.event_id,
    endpointId: r.endpoint_id,
    status: r.status,
    attempts: r.attempts,
    nextAttemptAt: r.next_attempt_at,
    retryUntil: r.retry_until,
    lastAttemptAt: r.last_attempt_at,
    lastHttpStatus: r.last_http_status,
    lastError: r.last_error,
    createdAt: r.created_at,
  }
}
function toAttempt(raw: unknown): DeliveryAttempt {
  const r = AttemptRow.parse(raw)
  return {
    id: r.id,
    deliveryId: r.delivery_id,
    at: r.at,
    httpStatus: r.http_status,
    error: r.error,
    durationMs: r.duration_ms,
    responseEncrypted: r.response_encrypted,
  }
}

/** One pending job per delivery: a resend or a retry replaces the one waiting. */
const jobKey = (deliveryId: string) => `wa-deliver:${deliveryId}`
/**
 * graphile-worker's own retries only cover a handler that throws (database or vault trouble);
 * failed HTTP tries are rescheduled by the use case with its own backoff and window.
 */
const JOB_MAX_ATTEMPTS = 5

/** The CRM event tables (docs/data.md#crm-events), with jobs added in the same transactions. */
export class KyselyWebhookStore implements WebhookStore {
  constructor(private readonly db: Kysely<Database>) {}

  async createEndpoint(e: WebhookEndpoint): Promise<void> {
    await this.db
      .insertInto('wa_webhook_endpoints')
      .values({
        id: e.id,
        tenant_id: e.tenantId,
        url: e.url,
        events: e.events,
        secret_encrypted: e.secretEncrypted,
        enabled: e.enabled,
        disabled_at: e.disabledAt,
        disabled_reason: e.disabledReason,
        created_at: e.createdAt,
        created_by: e.createdBy,
      })
      .execute()
  }

  async listEndpoints(tenantId: string): Promise<WebhookEndpoint[]> {
    const rows = await this.db
      .selectFrom('wa_webhook_endpoints')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .orderBy('created_at')
      .orderBy('id')
      .execute()
    return rows.map(toEndpoint)
  }

  async findEndpoint(tenantId: string, id: string): Promise<WebhookEndpoint | null> {
    if (!UUID.test(id)) return null
    const row = await this.db
      .selectFrom('wa_webhook_endpoints')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('id', '=', id)
      .executeTakeFirst()
    return row ? toEndpoint(row) : null
  }

  async deleteEndpoint(tenantId: string, id: string): Promise<boolean> {
    if (!UUID.test(id)) return false
    const r = await this.db
      .deleteFrom('wa_webhook_endpoints')
      .where('tenant_id', '=', tenantId)
      .where('id', '=', id)
      .executeTakeFirst()
    return r.numDeletedRows > 0n
  }

  async replaceSecret(tenantId: string, id: string, secretEncrypted: string): Promise<boolean> {
    if (!UUID.test(id)) return false
    const r = await this.db
      .updateTable('wa_webhook_endpoints')
      .set({ secret_encrypted: secretEncrypted })
      .where('tenant_id', '=', tenantId)
      .where('id', '=', id)
      .executeTakeFirst()
    return r.numUpdatedRows > 0n
  }

  async disableEndpoint(tenantId: string, id: string, at: Date, reason: string): Promise<boolean> {
    const r = await this.db
      .updateTable('wa_webhook_endpoints')
      .set({ enabled: false, disabled_at: at, disabled_reason: reason })
      .where('tenant_id', '=', tenantId)
      .where('id', '=', id)
      .where('enabled', '=', true)
      .executeTakeFirst()
    return r.numUpdatedRows > 0n
  }

  async recordEvent(event: StoredCrmEvent, plan: { newId: () => string; retryUntil: Date }): Promise<string[]> {
    return this.db.transaction().execute(async (trx) => {
      const endpoints = await trx
        .selectFrom('wa_webhook_endpoints')
        .select('id')
        .where('tenant_id', '=', event.tenantId)
        .where('enabled', '=', true)
        .where((eb) =>
          eb.or([
            eb('events', 'is', null),
            eb(sql<number>`cardinality(events)`, '=', 0),
            sql<boolean>`${event.type}::text = any(events)`,
          ]),
        )
        .execute()
      // No endpoint listens: nothing is stored (no event rows for tenants without a CRM hook).
      if (endpoints.length === 0) return []
      await trx
        .insertInto('wa_webhook_events')
        .values({
          id: event.id,
          tenant_id: event.tenantId,
          type: event.type,
          payload_encrypted: event.payloadEncrypted,
          created_at: event.createdAt,
        })
        .execute()
      const ids: string[] = []
      for (const endpoint of endpoints) {
        const id = plan.newId()
        ids.push(id)
        await trx
          .insertInto('wa_webhook_deliveries')
          .values({
            id,
            tenant_id: event.tenantId,
            event_id: event.id,
            endpoint_id: endpoint.id,
            next_attempt_at: event.createdAt,
            retry_until: plan.retryUntil,
            created_at: event.createdAt,
          })
          .execute()
        await addJob(trx, 'wa.deliver-event', { deliveryId: id }, { key: jobKey(id), maxAttempts: JOB_MAX_ATTEMPTS })
      }
      return ids
    })
  }

  async loadDelivery(deliveryId: string) {
    if (!UUID.test(deliveryId)) return null
    const delivery = await this.db.selectFrom('wa_webhook_deliveries').selectAll().where('id', '=', deliveryId).executeTakeFirst()
    if (!delivery) return null
    const [event, endpoint] = await Promise.all([
      this.db.selectFrom('wa_webhook_events').selectAll().where('id', '=', delivery.event_id).executeTakeFirst(),
      this.db.selectFrom('wa_webhook_endpoints').selectAll().where('id', '=', delivery.endpoint_id).executeTakeFirst(),
    ])
    if (!event || !endpoint) return null
    return { delivery: toDelivery(delivery), event: toEvent(event), endpoint: toEndpoint(endpoint) }
  }

  async recordAttempt(attempt: DeliveryAttempt, outcome: DeliveryOutcome): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      const updated = await trx
        .updateTable('wa_webhook_deliveries')
        .set((eb) => ({
          status: outcome.status,
          attempts: eb('attempts', '+', 1),
          next_attempt_at: outcome.nextAttemptAt,
          last_attempt_at: attempt.at,
          last_http_status: attempt.httpStatus,
          last_error: attempt.error,
        }))
        .where('id', '=', attempt.deliveryId)
        .returning('tenant_id')
        .executeTakeFirst()
      // Deleted meanwhile (its endpoint went): nothing to record.
      if (!updated) return
      await trx
        .insertInto('wa_webhook_attempts')
        .values({
          id: attempt.id,
          tenant_id: updated.tenant_id,
          delivery_id: attempt.deliveryId,
          at: attempt.at,
          http_status: attempt.httpStatus,
          error: attempt.error,
          duration_ms: attempt.durationMs,
          response_encrypted: attempt.responseEncrypted,
        })
        .execute()
      if (outcome.nextAttemptAt) {
        await addJob(
          trx,
          'wa.deliver-event',
          { deliveryId: attempt.deliveryId },
          { key: jobKey(attempt.deliveryId), runAt: outcome.nextAttemptAt, maxAttempts: JOB_MAX_ATTEMPTS },
        )
      }
    })
  }

  async resetDelivery(tenantId: string, deliveryId: string, input: { now: Date; retryUntil: Date }): Promise<boolean> {
    if (!UUID.test(deliveryId)) return false
    return this.db.transaction().execute(async (trx) => {
      const row = await trx
        .updateTable('wa_webhook_deliveries')
        .set({ status: 'pending', next_attempt_at: input.now, retry_until: input.retryUntil })
        .where('tenant_id', '=', tenantId)
        .where('id', '=', deliveryId)
        .returning('endpoint_id')
        .executeTakeFirst()
      if (!row) return false
      await trx
        .updateTable('wa_webhook_endpoints')
        .set({ enabled: true, disabled_at: null, disabled_reason: null })
        .where('tenant_id', '=', tenantId)
        .where('id', '=', row.endpoint_id)
        .execute()
      await addJob(trx, 'wa.deliver-event', { deliveryId }, { key: jobKey(deliveryId), maxAttempts: JOB_MAX_ATTEMPTS })
      return true
    })
  }

  async listDeliveries(
    tenantId: string,
    endpointId: string,
    limits: { deliveries: number; attemptsEach: number },
  ): Promise<DeliveryWithAttempts[]> {
    const rows = await this.db
      .selectFrom('wa_webhook_deliveries as d')
      .innerJoin('wa_webhook_events as e', 'e.id', 'd.event_id')
      .selectAll('d')
      .select('e.type as event_type')
      .where('d.tenant_id', '=', tenantId)
      .where('d.endpoint_id', '=', endpointId)
      .orderBy('d.created_at', 'desc')
      .orderBy('d.id', 'desc')
      .limit(limits.deliveries)
      .execute()
    if (rows.length === 0) return []
    const attempts = await this.db
      .selectFrom(
        this.db
          .selectFrom('wa_webhook_attempts')
          .selectAll()
          .select(sql<number>`row_number() over (partition by delivery_id order by at desc, id desc)`.as('rank'))
          .where('tenant_id', '=', tenantId)
          .where(
            'delivery_id',
            'in',
            rows.map((r) => r.id),
          )
          .as('a'),
      )
      .selectAll()
      .where('rank', '<=', limits.attemptsEach)
      .orderBy('at', 'desc')
      .execute()
    return rows.map((r) => ({
      ...toDelivery(r),
      eventType: EventType.parse(r.event_type),
      attemptLog: attempts.filter((a) => a.delivery_id === r.id).map(toAttempt),
    }))
  }

  async purgeEventsBefore(cutoff: Date): Promise<number> {
    // Deliveries and attempts go with their event (ON DELETE CASCADE).
    const result = await this.db.deleteFrom('wa_webhook_events').where('created_at', '<', cutoff).executeTakeFirst()
    return Number(result.numDeletedRows)
  }
}
