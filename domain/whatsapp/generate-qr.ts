import type { Actor, WhatsAppDeps } from './whatsapp-deps'
import { requireWhatsAppEnabled } from './features'
import { addSeconds, enforceRateLimit } from './use-case-helpers'
import { auditedLinkRequest, prepareLinkAttempt, recordAlreadyLinked, startLinkAttempt } from './link-attempt'
import { UpstreamUnavailableError } from './whatsapp.errors'

export interface GenerateQrResult {
  /** `data:image/png;base64,…` — show it, never log it. */
  qrCode: string
  /** When this QR image stops being scannable (fetch a new one after). */
  expiresAt: Date
  /** Hard limit of the link attempt. */
  linkExpiresAt: Date
}

/**
 * `POST /api/wa/qr/generate`: gate → rate limit (10/min/tenant) → refuse when connected →
 * claim an instance → webhook once → ask Green-API for a QR → store credentials encrypted and
 * (re)start the link attempt (not when Green-API failed). Green-API's `alreadyLogged` is recorded as connected and reported as
 * `AlreadyConnectedError`.
 */
export async function generateQr(
  deps: WhatsAppDeps,
  input: { tenantId: string; actor: Actor; publicUrl: string; ip?: string; expectedPhone?: string | null | undefined },
): Promise<GenerateQrResult> {
  const { tenantId } = input
  return auditedLinkRequest(deps, { actor: input.actor, tenantId, action: 'whatsapp.link.qr', ip: input.ip }, async () => {
    await requireWhatsAppEnabled(deps, { tenantId })
    await enforceRateLimit(deps, `wa:qr:${tenantId}`, deps.config.rateLimits.generateQr)
    const prepared = await prepareLinkAttempt(deps, {
      tenantId,
      publicUrl: input.publicUrl,
      expectedPhone: input.expectedPhone,
    })
    const { creds } = prepared
    const qr = await deps.provider.requestQr(creds)
    if (qr.kind === 'error') {
      deps.logger.warn({ tenantId, instanceId: creds.instanceId, upstreamMessage: qr.message }, 'QR refused upstream')
      throw new UpstreamUnavailableError('Green-API could not produce a QR code')
    }
    // Only now that Green-API answered does the attempt (re)start: a failure keeps its clock.
    const record = await startLinkAttempt(deps, prepared)
    if (qr.kind === 'alreadyLinked') return recordAlreadyLinked(deps, tenantId, creds)
    const linkExpiresAt = record.linkExpiresAt ?? addSeconds(deps.clock.now(), deps.config.linkAttemptMinutes * 60)
    return {
      result: {
        qrCode: `data:image/png;base64,${qr.pngBase64}`,
        expiresAt: addSeconds(deps.clock.now(), deps.config.qrTtlSeconds),
        linkExpiresAt,
      },
      details: { instanceId: creds.instanceId },
    }
  })
}
