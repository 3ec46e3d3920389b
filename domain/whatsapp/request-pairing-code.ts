import type { Actor, WhatsAppDeps } from './whatsapp-deps'
import { requireWhatsAppEnabled } from './features'
import { addSeconds, enforceRateLimit } from './use-case-helpers'
import { auditedLinkRequest, prepareLinkAttempt, startLinkAttempt } from './link-attempt'
import { PhoneNumberSchema } from './validation'
import { InvalidInputError } from './whatsapp.errors'

export interface PairingCodeResult {
  /** e.g. "ABCD-EFGH". Show it to the user, never log it. */
  code: string
  expiresAt: Date
  linkExpiresAt: Date
}

/**
 * `POST /api/wa/pairing-code`: like `generateQr` (gate, claim, webhook, link attempt) but links
 * by phone number with a pairing code (Green-API `getAuthorizationCode`). Rate limit 5 / 10 min.
 */
export async function requestPairingCode(
  deps: WhatsAppDeps,
  input: {
    tenantId: string
    actor: Actor
    phoneNumber: string
    publicUrl: string
    ip?: string
    expectedPhone?: string | null
  },
): Promise<PairingCodeResult> {
  const { tenantId } = input
  return auditedLinkRequest(
    deps,
    { actor: input.actor, tenantId, action: 'whatsapp.link.pairing_code', ip: input.ip },
    async () => {
      await requireWhatsAppEnabled(deps, { tenantId })
      const phone = PhoneNumberSchema.safeParse(input.phoneNumber)
      if (!phone.success)
        throw new InvalidInputError('invalid phone number', [{ path: 'phoneNumber', message: 'must be E.164', code: 'phone' }])
      await enforceRateLimit(deps, `wa:pairing:${tenantId}`, deps.config.rateLimits.pairingCode)
      const prepared = await prepareLinkAttempt(deps, {
        tenantId,
        publicUrl: input.publicUrl,
        expectedPhone: input.expectedPhone,
      })
      const { creds } = prepared
      const { code } = await deps.provider.requestPairingCode(creds, phone.data)
      // After Green-API produced the code: a failed request keeps the attempt's clock.
      const record = await startLinkAttempt(deps, prepared)
      const now = deps.clock.now()
      return {
        result: {
          code,
          expiresAt: addSeconds(now, deps.config.pairingCodeTtlSeconds),
          linkExpiresAt: record.linkExpiresAt ?? addSeconds(now, deps.config.linkAttemptMinutes * 60),
        },
        details: { instanceId: creds.instanceId },
      }
    },
  )
}
