import type { DeliveryOutcome } from '../ports/webhook-store'
import type { WebhookDeps } from './webhook-deps'
import { attemptResponseAt, endpointSecretAt, eventPayloadAt, retryDelayMs } from './webhook-deps'
import { originOf } from './webhook-helpers'

/** At most this much of an answer is kept (UTF-16 units of the decoded text ≈ bytes for ASCII). */
export const RESPONSE_EXCERPT_CHARS = 1024

export type DeliveryRun = 'succeeded' | 'failed' | 'exhausted' | 'skipped'

/**
 * The `wa.deliver-event` job (decision 181): one try of one delivery. POSTs `{type, timestamp,
 * data}` signed per Standard Webhooks (`webhook-id` = the event id, the same on every retry;
 * `webhook-timestamp` = now; `webhook-signature`), records the attempt (status or error,
 * duration, ≤ 1 KiB of the answer, encrypted), and on a failure schedules the next try with
 * exponential backoff, until the retry window ends: then the delivery is exhausted, the
 * endpoint disabled and an audit entry says so. Idempotent: a finished delivery, a gone one or
 * one whose endpoint is disabled is skipped.
 */
export async function deliverEvent(deps: WebhookDeps, input: { deliveryId: string }): Promise<DeliveryRun> {
  const loaded = await deps.store.loadDelivery(input.deliveryId)
  if (!loaded) return 'skipped'
  const { delivery, event, endpoint } = loaded
  if (delivery.status === 'succeeded' || delivery.status === 'exhausted' || !endpoint.enabled) return 'skipped'

  const now = deps.clock.now()
  const secret = deps.vault.decrypt(endpoint.secretEncrypted, endpointSecretAt(endpoint.tenantId, endpoint.id))
  const data: unknown = JSON.parse(deps.vault.decrypt(event.payloadEncrypted, eventPayloadAt(event.tenantId, event.id)))
  const body = JSON.stringify({ type: event.type, timestamp: event.createdAt.toISOString(), data })
  const headers = {
    'content-type': 'application/json',
    'user-agent': 'WhatsAppPro-Webhooks/1.0',
    'webhook-id': event.id,
    'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
    'webhook-signature': deps.signer.sign(secret, { id: event.id, timestamp: now, body }),
  }
  const result = await deps.transport.post(endpoint.url, { headers, body })

  const delivered = result.status !== null && result.status >= 200 && result.status < 300
  const failures = delivery.attempts + 1
  let outcome: DeliveryOutcome
  if (delivered) outcome = { status: 'succeeded', nextAttemptAt: null }
  else {
    const next = new Date(now.getTime() + retryDelayMs(deps.config, failures))
    outcome =
      next.getTime() > delivery.retryUntil.getTime()
        ? { status: 'exhausted', nextAttemptAt: null }
        : { status: 'failed', nextAttemptAt: next }
  }
  const attemptId = deps.ids.newId()
  const excerpt = result.body.slice(0, RESPONSE_EXCERPT_CHARS)
  await deps.store.recordAttempt(
    {
      id: attemptId,
      deliveryId: delivery.id,
      at: now,
      httpStatus: result.status,
      error: result.error,
      durationMs: Math.max(0, Math.round(result.durationMs)),
      responseEncrypted: excerpt ? deps.vault.encrypt(excerpt, attemptResponseAt(delivery.tenantId, attemptId)) : null,
    },
    outcome,
  )

  if (outcome.status === 'exhausted') {
    const disabled = await deps.store.disableEndpoint(endpoint.tenantId, endpoint.id, now, 'retries_exhausted')
    if (disabled) {
      const facts = {
        endpointId: endpoint.id,
        origin: originOf(endpoint.url),
        deliveryId: delivery.id,
        eventId: event.id,
        attempts: failures,
        lastHttpStatus: result.status,
        lastError: result.error,
      }
      deps.logger.warn({ tenantId: endpoint.tenantId, ...facts }, 'CRM endpoint disabled: deliveries failed for 24 h')
      await deps.audit.append({
        actor: 'system:webhooks',
        tenantId: endpoint.tenantId,
        action: 'webhook.endpoint.disable',
        outcome: 'failure',
        details: { ...facts, reason: 'retries_exhausted' },
      })
    }
  }
  return outcome.status
}
