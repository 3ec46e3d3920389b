import type { LoaderFunctionArgs } from '@remix-run/node'
import { getServices } from '../services.server'
import { apiHandler, ok } from '../utils/api.server'
import { requireApiContext } from '../utils/guards.server'
import { presentStatus } from '../api/presenters'
import { getConnectionStatus, requireWhatsAppOrGrace } from '../../domain/whatsapp'

// GET /api/wa/qr/status — answered from stored state; never waits for Green-API (the background
// refresher keeps the row fresh, docs/decisions/120).
export async function loader({ request, context }: LoaderFunctionArgs) {
  const services = getServices()
  return apiHandler(request, services.logger, async () => {
    const ctx = await requireApiContext(request, { mutating: false, context })
    // WhatsApp Pro off: 403, unless a number is still linked in the add-on's grace (decision 169).
    const addonEnd = await requireWhatsAppOrGrace(services.whatsappHotPath, { tenantId: ctx.tenantId })
    // Hot path (every open page polls it): cached row + memoized poll lease, see docs/decisions/070.
    return ok(presentStatus(await getConnectionStatus(services.whatsappHotPath, { tenantId: ctx.tenantId }), addonEnd))
  })
}
