import type { ActionFunctionArgs } from '@remix-run/node'
import { EmptyBodySchema } from '../api/schemas'
import { getServices } from '../services.server'
import { apiHandler, ok, readJsonBody } from '../utils/api.server'
import { requireApiContext } from '../utils/guards.server'
import { requireWhatsApp } from '../utils/whatsapp.server'
import { resendWebhookDelivery } from '../../domain/webhooks'

// POST /api/wa/webhook-endpoints/deliveries/:deliveryId/resend — tried again now (202), endpoint re-enabled.
export async function action({ request, params, context }: ActionFunctionArgs) {
  const services = getServices()
  return apiHandler(request, services.logger, async () => {
    const ctx = await requireApiContext(request, { mutating: true, context })
    await requireWhatsApp(ctx.tenantId)
    await readJsonBody(request, EmptyBodySchema)
    await resendWebhookDelivery(services.webhooks, {
      tenantId: ctx.tenantId,
      actor: ctx.actor,
      ip: ctx.ip,
      deliveryId: params.deliveryId ?? '',
    })
    return ok({ ok: true }, { status: 202 })
  })
}
