import type { ActionFunctionArgs } from '@remix-run/node'
import { QrGenerateBodySchema } from '../api/schemas'
import { getServices } from '../services.server'
import { apiHandler, ok, readJsonBody } from '../utils/api.server'
import { toE164 } from '../utils/phone.server'
import { requireApiContext } from '../utils/guards.server'
import { publicUrlOf, requireWhatsApp } from '../utils/whatsapp.server'
import { generateQr } from '../../domain/whatsapp'

// POST /api/wa/qr/generate {"expectedPhone"?: "+33…"} — auth → tenant → role → gate → parse → generateQr → respond.
export async function action({ request, context }: ActionFunctionArgs) {
  const services = getServices()
  return apiHandler(request, services.logger, async () => {
    const ctx = await requireApiContext(request, { mutating: true, context })
    await requireWhatsApp(ctx.tenantId)
    const body = await readJsonBody(request, QrGenerateBodySchema)
    const qr = await generateQr(services.whatsapp, {
      tenantId: ctx.tenantId,
      actor: ctx.actor,
      publicUrl: publicUrlOf(context),
      ip: ctx.ip,
      ...(body.expectedPhone ? { expectedPhone: toE164(body.expectedPhone) } : {}),
    })
    return ok({
      ok: true,
      qrCode: qr.qrCode,
      expiresAt: qr.expiresAt.toISOString(),
      linkExpiresAt: qr.linkExpiresAt.toISOString(),
    })
  })
}
