import type { ActionFunctionArgs } from '@remix-run/node'
import { EmptyBodySchema } from '../api/schemas'
import { getServices } from '../services.server'
import { apiHandler, ok, readJsonBody } from '../utils/api.server'
import { requireApiContext } from '../utils/guards.server'
import { t } from '../utils/i18n'
import { deleteNumber } from '../../domain/whatsapp'

// POST /api/wa/delete-instance — "Supprimer le numéro", partner mode only (409 PARTNER_MODE_ONLY
// otherwise): logout, deleteInstanceAccount, stored credentials erased. Idempotent. Not
// feature-gated, like disconnect: it stops a bill (decision 211).
export async function action({ request, context }: ActionFunctionArgs) {
  const services = getServices()
  return apiHandler(request, services.logger, async (lang) => {
    const ctx = await requireApiContext(request, { mutating: true, context })
    await readJsonBody(request, EmptyBodySchema)
    const done = await deleteNumber(services.whatsapp, { tenantId: ctx.tenantId, actor: ctx.actor, ip: ctx.ip })
    return ok({ ok: true, alreadyDeleted: done.alreadyDeleted, message: t(lang, 'api.instanceDeleted') })
  })
}
