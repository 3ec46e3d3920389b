import type { LoaderFunctionArgs } from '@remix-run/node'
import { presentWebhookDelivery } from '../api/presenters'
import { getServices } from '../services.server'
import { apiHandler, ok } from '../utils/api.server'
import { requireApiContext } from '../utils/guards.server'
import { requireWhatsApp } from '../utils/whatsapp.server'
import { listWebhookDeliveries } from '../../domain/webhooks'

// GET /api/wa/webhook-endpoints/:id/deliveries — recent deliveries with their attempts.
export async function loader({ request, params, context }: LoaderFunctionArgs) {
  const services = getServices()
  return apiHandler(request, services.logger, async () => {
    const ctx = await requireApiContext(request, { mutating: true, context })
    await requireWhatsApp(ctx.tenantId)
    const deliveries = await listWebhookDeliveries(services.webhooks, { tenantId: ctx.tenantId, endpointId: params.id ?? '' })
    return ok({ ok: true, deliveries: deliveries.map(presentWebhookDelivery) })
  })
}
