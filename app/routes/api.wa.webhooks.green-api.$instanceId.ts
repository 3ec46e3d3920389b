import type { ActionFunctionArgs } from '@remix-run/node'
import { getServices } from '../services.server'
import { apiHandler, ok } from '../utils/api.server'
import { WebhookUnauthorizedError, applyProviderEvent } from '../../domain/whatsapp'

// POST /api/wa/webhooks/green-api/:instanceId — Green-API notifications, authenticated by the
// per-instance webhook token (Authorization: Bearer …). Unknown instance or bad token → 401.
export async function action({ request, params }: ActionFunctionArgs) {
  const services = getServices()
  return apiHandler(request, services.logger, async () => {
    const instanceId = params.instanceId ?? ''
    // Not an instance id at all: the same answer as an unknown one (the table's 401).
    if (!/^\d{1,20}$/.test(instanceId)) throw new WebhookUnauthorizedError()
    // Bounded by the express shell's body limit (BODY_LIMIT_WEBHOOK_BYTES, 413 before Remix).
    const raw = await request.text()
    let event: unknown = null
    try {
      event = JSON.parse(raw)
    } catch {
      event = null
    }
    const result = await applyProviderEvent(
      services.whatsapp,
      { instanceId, authorizationHeader: request.headers.get('authorization'), event },
      services.messageEvents,
    )
    // Acknowledge with 200 even when ignored or a duplicate, so Green-API does not resend it for 24 h.
    return ok({ ok: true, applied: result.applied })
  })
}
