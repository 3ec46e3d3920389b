import type { ActionFunctionArgs } from '@remix-run/node'
import { EmptyBodySchema } from '../api/schemas'
import { getServices } from '../services.server'
import { apiHandler, ok, readJsonBody } from '../utils/api.server'
import { requireApiContext } from '../utils/guards.server'
import { t } from '../utils/i18n'
import { rebootInstance } from '../../domain/whatsapp'

// POST /api/wa/reboot — Green-API `reboot` for an instance stuck in starting or sleepMode
// (409 REBOOT_NOT_NEEDED otherwise), owners and admins, rate-limited (decision 210).
export async function action({ request, context }: ActionFunctionArgs) {
  const services = getServices()
  return apiHandler(request, services.logger, async (lang) => {
    const ctx = await requireApiContext(request, { mutating: true, context })
    await readJsonBody(request, EmptyBodySchema)
    await rebootInstance(services.whatsapp, { tenantId: ctx.tenantId, actor: ctx.actor, ip: ctx.ip })
    return ok({ ok: true, message: t(lang, 'api.rebooted') })
  })
}
