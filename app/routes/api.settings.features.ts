import type { LoaderFunctionArgs } from '@remix-run/node'
import { FeaturesResponseSchema } from '../api/schemas'
import { getServices } from '../services.server'
import { apiHandler, ok } from '../utils/api.server'
import { requireApiContext } from '../utils/guards.server'
import { getFeatures } from '../../domain/whatsapp'

// GET /api/settings/features — auth + tenant, no feature gate (the UI needs it to show the upsell).
export async function loader({ request, context }: LoaderFunctionArgs) {
  const services = getServices()
  return apiHandler(request, services.logger, async () => {
    const ctx = await requireApiContext(request, { mutating: false, context })
    const flags = await getFeatures(services.whatsapp, { tenantId: ctx.tenantId })
    return ok(FeaturesResponseSchema.parse(flags))
  })
}
