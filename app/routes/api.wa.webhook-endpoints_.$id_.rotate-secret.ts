import type { ActionFunctionArgs } from '@remix-run/node'
import { presentWebhookEndpoint } from '../api/presenters'
import { EmptyBodySchema } from '../api/schemas'
import { getServices } from '../services.server'
import { apiHandler, ok, readJsonBody } from '../utils/api.server'
import { requireApiContext } from '../utils/guards.server'
import { requireWhatsApp } from '../utils/whatsapp.server'
import { rotateWebhookSecret } from '../../domain/webhooks'

// POST /api/wa/webhook-endpoints/:id/rotate-secret — the new secret, once; the old one stops verifying.
export async function action({ request, params, context }: ActionFunctionArgs) {
  const services = getServices()
  return apiHandler(request, services.logger, async () => {
    const ctx = await requireApiContext(request, { mutating: true, context })
    await requireWhatsApp(ctx.tenantId)
    await readJsonBody(request, EmptyBodySchema)
    const rotated = await rotateWebhookSecret(services.webhooks, {
      tenantId: ctx.tenantId,
      actor: ctx.actor,
      ip: ctx.ip,
      endpointId: params.id ?? '',
    })
    return ok({ ok: true, endpoint: presentWebhookEndpoint(rotated.endpoint), secret: rotated.secret })
  })
}
