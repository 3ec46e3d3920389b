import type { ActionFunctionArgs } from '@remix-run/node'
import { EmptyBodySchema } from '../api/schemas'
import { getServices } from '../services.server'
import { apiHandler, ok, readJsonBody } from '../utils/api.server'
import { requireApiContext } from '../utils/guards.server'
import { t } from '../utils/i18n'
import { disconnect } from '../../domain/whatsapp'

// POST /api/wa/disconnect — idempotent: a second call answers ok too. Not feature-gated: a
// number linked before WhatsApp Pro ended must stay removable (decision 169).
export async function action({ request, context }: ActionFunctionArgs) {
  const services = getServices()
  return apiHandler(request, services.logger, async (lang) => {
    const ctx = await requireApiContext(request, { mutating: true, context })
    await readJsonBody(request, EmptyBodySchema)
    await disconnect(services.whatsapp, { tenantId: ctx.tenantId, actor: ctx.actor, ip: ctx.ip })
    return ok({ ok: true, message: t(lang, 'api.disconnected') })
  })
}
