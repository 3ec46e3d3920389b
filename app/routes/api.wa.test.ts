import type { ActionFunctionArgs } from '@remix-run/node'
import { TestSendBodySchema } from '../api/schemas'
import { getServices } from '../services.server'
import { apiHandler, ok, readJsonBody } from '../utils/api.server'
import { requireApiContext } from '../utils/guards.server'
import { t } from '../utils/i18n'
import { getLang } from '../utils/lang.server'
import { toE164 } from '../utils/phone.server'
import { requireWhatsApp } from '../utils/whatsapp.server'
import { sendTestMessage } from '../../domain/whatsapp'

// POST /api/wa/test {"to"?, "message"?} — refuses unless the instance is authorized right now.
// No message: the default text of the caller's language, the one the settings page prefills.
export async function action({ request, context }: ActionFunctionArgs) {
  const services = getServices()
  return apiHandler(request, services.logger, async () => {
    const ctx = await requireApiContext(request, { mutating: true, context })
    await requireWhatsApp(ctx.tenantId)
    const body = await readJsonBody(request, TestSendBodySchema)
    const sent = await sendTestMessage(
      services.whatsapp,
      {
        tenantId: ctx.tenantId,
        actor: ctx.actor,
        // The schema accepted it as E.164 or national: the domain gets E.164.
        ...(body.to ? { to: toE164(body.to) ?? body.to } : {}),
        message: body.message ?? t(await getLang(request), 'wa.test.defaultMessage'),
        ip: ctx.ip,
      },
      services.messages.store,
    )
    return ok({ ok: true, idMessage: sent.messageId, ...(sent.recordedId ? { messageId: sent.recordedId } : {}) })
  })
}
