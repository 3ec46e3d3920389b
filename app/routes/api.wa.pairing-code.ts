import type { ActionFunctionArgs } from '@remix-run/node'
import { PairingCodeBodySchema } from '../api/schemas'
import { getServices } from '../services.server'
import { apiHandler, ok, readJsonBody } from '../utils/api.server'
import { toE164 } from '../utils/phone.server'
import { requireApiContext } from '../utils/guards.server'
import { publicUrlOf, requireWhatsApp } from '../utils/whatsapp.server'
import { requestPairingCode } from '../../domain/whatsapp'

// POST /api/wa/pairing-code {"phoneNumber":"+33…"} — link by phone number instead of QR.
export async function action({ request, context }: ActionFunctionArgs) {
  const services = getServices()
  return apiHandler(request, services.logger, async () => {
    const ctx = await requireApiContext(request, { mutating: true, context })
    await requireWhatsApp(ctx.tenantId)
    const body = await readJsonBody(request, PairingCodeBodySchema)
    const result = await requestPairingCode(services.whatsapp, {
      tenantId: ctx.tenantId,
      actor: ctx.actor,
      // The schema accepted it as E.164 or national: the domain gets E.164.
      phoneNumber: toE164(body.phoneNumber) ?? body.phoneNumber,
      publicUrl: publicUrlOf(context),
      ip: ctx.ip,
      ...(body.expectedPhone ? { expectedPhone: toE164(body.expectedPhone) } : {}),
    })
    return ok({
      ok: true,
      code: result.code,
      expiresAt: result.expiresAt.toISOString(),
      linkExpiresAt: result.linkExpiresAt.toISOString(),
    })
  })
}
