import { CRM_EVENT_TYPES, type CrmEventType } from '../ports/event-sink'
import type { DeliveryStatus, WebhookEndpoint } from '../ports/webhook-store'
import type { TargetRefusal } from '../ports/webhook-transport'
import { InvalidInputError, WebhookEndpointNotFoundError, WebhookUrlRefusedError, type Actor } from '../whatsapp'
import type { WebhookDeps } from './webhook-deps'
import { attemptResponseAt, endpointSecretAt } from './webhook-deps'
import { actorLabel, originOf } from './webhook-helpers'

/** An endpoint as the tenant sees it: never its secret. `events` lists the types it receives. */
export interface EndpointView {
  id: string
  url: string
  events: CrmEventType[]
  /** True when it listens to every type (no explicit list). */
  allEvents: boolean
  enabled: boolean
  disabledAt: Date | null
  disabledReason: string | null
  createdAt: Date
}

export interface DeliveryView {
  id: string
  eventId: string
  eventType: CrmEventType
  status: DeliveryStatus
  attempts: number
  nextAttemptAt: Date | null
  createdAt: Date
  attemptLog: Array<{
    at: Date
    httpStatus: number | null
    error: string | null
    durationMs: number
    /** At most 1 KiB of the answer. */
    response: string | null
  }>
}

interface ActorInput {
  tenantId: string
  actor: Actor
  ip?: string
}

const REFUSAL_TEXT: Record<TargetRefusal, string> = {
  invalid_url: 'an absolute http(s) URL without user:password is required',
  https_required: 'only https URLs are accepted here',
  private_address:
    'the host is or resolves to a loopback, private, link-local, CGNAT, multicast or reserved address (set WEBHOOK_ALLOW_PRIVATE=1 to allow)',
  unresolvable: 'the host name does not resolve',
}

export function endpointView(e: WebhookEndpoint): EndpointView {
  return {
    id: e.id,
    url: e.url,
    events: e.events && e.events.length > 0 ? e.events : [...CRM_EVENT_TYPES],
    allEvents: !e.events || e.events.length === 0,
    enabled: e.enabled,
    disabledAt: e.disabledAt,
    disabledReason: e.disabledReason,
    createdAt: e.createdAt,
  }
}

async function audit(deps: WebhookDeps, input: ActorInput, action: string, details: Record<string, unknown>): Promise<void> {
  await deps.audit.append({
    actor: actorLabel(input.actor),
    tenantId: input.tenantId,
    action,
    outcome: 'success',
    ip: input.ip ?? null,
    details,
  })
}

/**
 * `POST /api/wa/webhook-endpoints`: checks the URL against the target policy (the same checks
 * the transport repeats at connect time), stores the endpoint with a fresh `whsec_` secret
 * (encrypted, bound to tenant + endpoint id) and returns that secret once.
 */
export async function createWebhookEndpoint(
  deps: WebhookDeps,
  input: ActorInput & { url: string; events?: CrmEventType[] | undefined },
): Promise<{ endpoint: EndpointView; secret: string }> {
  const existing = await deps.store.listEndpoints(input.tenantId)
  if (existing.length >= deps.config.maxEndpoints) {
    throw new InvalidInputError(`At most ${deps.config.maxEndpoints} webhook endpoints per tenant`, [
      {
        path: 'url',
        message: `limit of ${deps.config.maxEndpoints} endpoints reached: delete one first`,
        code: 'endpointLimit',
        vars: { max: deps.config.maxEndpoints },
      },
    ])
  }
  const check = await deps.transport.checkTarget(input.url)
  if (!check.ok) throw new WebhookUrlRefusedError(check.reason, REFUSAL_TEXT[check.reason])

  const id = deps.ids.newId()
  const secret = deps.signer.newSecret()
  const events = input.events && input.events.length > 0 ? [...new Set(input.events)] : null
  const endpoint: WebhookEndpoint = {
    id,
    tenantId: input.tenantId,
    url: input.url,
    events,
    secretEncrypted: deps.vault.encrypt(secret, endpointSecretAt(input.tenantId, id)),
    enabled: true,
    disabledAt: null,
    disabledReason: null,
    createdAt: deps.clock.now(),
    createdBy: actorLabel(input.actor),
  }
  await deps.store.createEndpoint(endpoint)
  await audit(deps, input, 'webhook.endpoint.create', { endpointId: id, origin: originOf(input.url), events: events ?? 'all' })
  return { endpoint: endpointView(endpoint), secret }
}

export async function listWebhookEndpoints(deps: WebhookDeps, input: { tenantId: string }): Promise<EndpointView[]> {
  return (await deps.store.listEndpoints(input.tenantId)).map(endpointView)
}

/** `DELETE /api/wa/webhook-endpoints/:id`: the endpoint and its deliveries go; pending tries are skipped. */
export async function deleteWebhookEndpoint(deps: WebhookDeps, input: ActorInput & { endpointId: string }): Promise<void> {
  const found = await deps.store.findEndpoint(input.tenantId, input.endpointId)
  if (!found || !(await deps.store.deleteEndpoint(input.tenantId, input.endpointId))) throw new WebhookEndpointNotFoundError()
  await audit(deps, input, 'webhook.endpoint.delete', { endpointId: input.endpointId, origin: originOf(found.url) })
}

/** `POST …/:id/rotate-secret`: a new secret at once (the old one stops verifying); returned once. */
export async function rotateWebhookSecret(
  deps: WebhookDeps,
  input: ActorInput & { endpointId: string },
): Promise<{ endpoint: EndpointView; secret: string }> {
  const found = await deps.store.findEndpoint(input.tenantId, input.endpointId)
  if (!found) throw new WebhookEndpointNotFoundError()
  const secret = deps.signer.newSecret()
  const secretEncrypted = deps.vault.encrypt(secret, endpointSecretAt(input.tenantId, found.id))
  if (!(await deps.store.replaceSecret(input.tenantId, found.id, secretEncrypted))) throw new WebhookEndpointNotFoundError()
  await audit(deps, input, 'webhook.endpoint.rotate-secret', { endpointId: found.id })
  return { endpoint: endpointView({ ...found, secretEncrypted }), secret }
}

/** `GET …/:id/deliveries`: the 50 most recent deliveries, each with its 10 latest attempts. */
export async function listWebhookDeliveries(
  deps: WebhookDeps,
  input: { tenantId: string; endpointId: string },
): Promise<DeliveryView[]> {
  const found = await deps.store.findEndpoint(input.tenantId, input.endpointId)
  if (!found) throw new WebhookEndpointNotFoundError()
  const rows = await deps.store.listDeliveries(input.tenantId, found.id, { deliveries: 50, attemptsEach: 10 })
  return rows.map((d) => ({
    id: d.id,
    eventId: d.eventId,
    eventType: d.eventType,
    status: d.status,
    attempts: d.attempts,
    nextAttemptAt: d.nextAttemptAt,
    createdAt: d.createdAt,
    attemptLog: d.attemptLog.map((a) => ({
      at: a.at,
      httpStatus: a.httpStatus,
      error: a.error,
      durationMs: a.durationMs,
      response: a.responseEncrypted ? deps.vault.decrypt(a.responseEncrypted, attemptResponseAt(input.tenantId, a.id)) : null,
    })),
  }))
}

/** The settings page: every endpoint with its `deliveriesEach` most recent deliveries. */
export async function webhookOverview(
  deps: WebhookDeps,
  input: { tenantId: string; deliveriesEach: number },
): Promise<Array<{ endpoint: EndpointView; deliveries: DeliveryView[] }>> {
  const endpoints = await listWebhookEndpoints(deps, input)
  return Promise.all(
    endpoints.map(async (endpoint) => ({
      endpoint,
      deliveries: (await listWebhookDeliveries(deps, { tenantId: input.tenantId, endpointId: endpoint.id })).slice(
        0,
        input.deliveriesEach,
      ),
    })),
  )
}

/**
 * `POST …/deliveries/:deliveryId/resend`: the delivery is tried again now with a fresh 24 h
 * window. Resending is the user saying "the endpoint works again": a disabled endpoint is
 * re-enabled (decision 182).
 */
export async function resendWebhookDelivery(deps: WebhookDeps, input: ActorInput & { deliveryId: string }): Promise<void> {
  const now = deps.clock.now()
  const done = await deps.store.resetDelivery(input.tenantId, input.deliveryId, {
    now,
    retryUntil: new Date(now.getTime() + deps.config.retryWindowMs),
  })
  if (!done) throw new WebhookEndpointNotFoundError('delivery')
  await audit(deps, input, 'webhook.delivery.resend', { deliveryId: input.deliveryId })
}
