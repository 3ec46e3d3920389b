import type { LoaderFunctionArgs } from '@remix-run/node'
import { presentMessage } from '../api/presenters'
import { getServices } from '../services.server'
import { apiHandler, ok } from '../utils/api.server'
import { requireApiContext } from '../utils/guards.server'
import { getMessage } from '../../domain/messages'

// GET /api/wa/messages/:id — the tenant's message; another tenant's id (or a malformed one) → 404
// as if it did not exist.
export async function loader({ request, params, context }: LoaderFunctionArgs) {
  const services = getServices()
  return apiHandler(request, services.logger, async () => {
    const ctx = await requireApiContext(request, { mutating: false, context })
    const message = await getMessage(services.messages, { tenantId: ctx.tenantId, id: params['id'] ?? '' })
    return ok({ ok: true, message: presentMessage(message) })
  })
}
