import type { ActionFunctionArgs, LoaderFunctionArgs } from '@remix-run/node'
import { presentWebhookEndpoint } from '../api/presenters'
import { WebhookEndpointCreateBodySchema } from '../api/schemas'
import { getServices } from '../services.server'
import { apiHandler, ok, readJsonBody } from '../utils/api.server'
import { requireApiContext } from '../utils/guards.server'
import { requireWhatsApp } from '../utils/whatsapp.server'
import type { CrmEventType } from '../../domain/ports/event-sink'
import { createWebhookEndpoint, listWebhookEndpoints } from '../../domain/webhooks'

// GET /api/wa/webhook-endpoints — the tenant's CRM endpoints (owners/admins; never a secret).
export async function loader({ request, context }: LoaderFunctionArgs) {
  const services = getServices()
  return apiHandler(request, services.logger, async () => {
    const ctx = await requireApiContext(request, { mutating: true, context })
    await requireWhatsApp(ctx.tenantId)
    const endpoints = await listWebhookEndpoints(services.webhooks, { tenantId: ctx.tenantId })
    return ok({ ok: true, endpoints: endpoints.map(presentWebhookEndpoint) })
  })
}

// POST /api/wa/webhook-endpoints {"url", "events"?} — 201 with the signing secret, shown once.
export async function action({ request, context }: ActionFunctionArgs) {
  const services = getServices()
  return apiHandler(request, services.logger, async () => {
    const ctx = await requireApiContext(request, { mutating: true, context })
    await requireWhatsApp(ctx.tenantId)
    const body = await readJsonBody(request, WebhookEndpointCreateBodySchema)
    const created = await createWebhookEndpoint(services.webhooks, {
      tenantId: ctx.tenantId,
      actor: ctx.actor,
      ip: ctx.ip,
      url: body.url,
      events: body.events as CrmEventType[] | undefined,
    })
    return ok({ ok: true, endpoint: presentWebhookEndpoint(created.endpoint), secret: created.secret }, { status: 201 })
  })
}
