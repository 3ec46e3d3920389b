import type { Actor, WhatsAppDeps } from './whatsapp-deps'
import { requireWhatsAppEnabled } from './features'
import { credentialsOf, enforceRateLimit } from './use-case-helpers'
import { audited } from './link-attempt'
import { recordObservation } from './record-observation'
import { PhoneNumberSchema, TestMessageSchema } from './validation'
import { InvalidInputError, NotConnectedError } from './whatsapp.errors'

/**
 * `POST /api/wa/test`: gate → validate → rate limit (5/hour/tenant) → LIVE state check (Green-API
 * silently queues messages of an unlinked instance for 24 h, so the stored state is not enough)
 * → send. Default recipient: the connected number. The text is the caller's: a default is a
 * user-facing text in the user's language, so the edge picks it (app/utils/i18n.ts).
 */
export async function sendTestMessage(
  deps: WhatsAppDeps,
  input: { tenantId: string; actor: Actor; to?: string; message: string; ip?: string },
): Promise<{ messageId: string }> {
  const { tenantId } = input
  return audited(deps, { actor: input.actor, tenantId, action: 'whatsapp.test_message', ip: input.ip }, async () => {
    await requireWhatsAppEnabled(deps, { tenantId })
    const to = input.to === undefined ? undefined : PhoneNumberSchema.safeParse(input.to)
    if (to && !to.success) throw new InvalidInputError('invalid recipient', [{ path: 'to', message: 'must be E.164' }])
    const message = TestMessageSchema.safeParse(input.message)
    if (!message.success) {
      throw new InvalidInputError('invalid message', [{ path: 'message', message: '1 to 1000 characters' }])
    }
    await enforceRateLimit(deps, `wa:test:${tenantId}`, deps.config.rateLimits.testSend)

    const record = await deps.connections.findByTenant(tenantId)
    if (!record) throw new NotConnectedError()
    const creds = credentialsOf(deps, record)
    const state = await deps.provider.getState(creds)
    if (state !== null && state !== record.status) {
      await recordObservation(deps, tenantId, {
        status: state,
        ...(state === 'notAuthorized' ? { account: null } : {}),
        checkedAt: deps.clock.now(),
        source: 'poll',
      })
    }
    if (state !== 'authorized') throw new NotConnectedError()

    const recipient = to?.data ?? record.account?.phone ?? (await deps.provider.getLinkedAccount(creds))?.phone
    if (!recipient)
      throw new InvalidInputError('no recipient: the connected number is unknown', [{ path: 'to', message: 'required' }])
    const { messageId } = await deps.provider.sendText(creds, recipient, message.data)
    return {
      result: { messageId },
      details: { instanceId: creds.instanceId, toOwnNumber: to === undefined, messageId },
    }
  })
}
