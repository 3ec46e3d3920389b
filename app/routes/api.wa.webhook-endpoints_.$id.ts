import type { ActionFunctionArgs } from '@remix-run/node'
import { getServices } from '../services.server'
import { apiHandler, ok } from '../utils/api.server'
import { requireApiContext } from '../utils/guards.server'
import { requireWhatsApp } from '../utils/whatsapp.server'
import { deleteWebhookEndpoint } from '../../domain/webhooks'

/** server/api-methods.ts answers 405 for any other verb. */
export const actionMethods = ['DELETE']

// DELETE /api/wa/webhook-endpoints/:id — the endpoint and its deliveries; another tenant's id is a 404.
export async function action({ request, params, context }: ActionFunctionArgs) {
  const services = getServices()
  return apiHandler(request, services.logger, async () => {
    const ctx = await requireApiContext(request, { mutating: true, context })
    await requireWhatsApp(ctx.tenantId)
    await deleteWebhookEndpoint(services.webhooks, {
      tenantId: ctx.tenantId,
      actor: ctx.actor,
      ip: ctx.ip,
      endpointId: params.id ?? '',
    })
    return ok({ ok: true })
  })
}
