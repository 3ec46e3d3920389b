import type { Actor, WhatsAppDeps } from './deps'
import { requireWhatsAppEnabled } from './features'
import { credentialsOf, enforceRateLimit, publishStatus } from './internal'
import { audited, countIfLinked } from './link-attempt'
import { PhoneNumberSchema, TestMessageSchema } from './validation'
import { InvalidInputError, NotConnectedError } from './whatsapp.errors'

/**
 * `POST /api/wa/test`: gate → validate → rate limit (5/hour/tenant) → LIVE state check (Green-API
 * silently queues messages of an unlinked instance for 24 h, so the stored state is not enough)
 * → send. Default recipient: the connected number; default text: `config.defaultTestMessage`.
 */
export async function sendTestMessage(
  deps: WhatsAppDeps,
  input: { tenantId: string; actor: Actor; to?: string; message?: string; ip?: string },
): Promise<{ messageId: string }> {
  const { tenantId } = input
  return audited(deps, { actor: input.actor, tenantId, action: 'whatsapp.test_message', ip: input.ip }, async () => {
    await requireWhatsAppEnabled(deps, { tenantId })
    const to = input.to === undefined ? undefined : PhoneNumberSchema.safeParse(input.to)
    if (to && !to.success) throw new InvalidInputError('invalid recipient', [{ path: 'to', message: 'must be E.164' }])
    const message = input.message === undefined ? undefined : TestMessageSchema.safeParse(input.message)
    if (message && !message.success) {
      throw new InvalidInputError('invalid message', [{ path: 'message', message: '1 to 1000 characters' }])
    }
    await enforceRateLimit(deps, `wa:test:${tenantId}`, deps.config.rateLimits.testSend)

    const record = await deps.connections.findByTenant(tenantId)
    if (!record) throw new NotConnectedError()
    const creds = credentialsOf(deps, record)
    const state = await deps.provider.getState(creds)
    if (state !== null && state !== record.status) {
      const applied = await deps.connections.applyStatus(tenantId, {
        status: state,
        ...(state === 'notAuthorized' ? { phoneNumber: null } : {}),
        checkedAt: deps.clock.now(),
        source: 'poll',
      })
      countIfLinked(deps, 'poll', applied)
      if (applied.outcome === 'changed') await publishStatus(deps, applied.record)
    }
    if (state !== 'authorized') throw new NotConnectedError()

    const recipient = to?.data ?? record.phoneNumber ?? (await deps.provider.getLinkedPhone(creds))
    if (!recipient) throw new InvalidInputError('no recipient: the connected number is unknown', [{ path: 'to', message: 'required' }])
    const { messageId } = await deps.provider.sendText(creds, recipient, message?.data ?? deps.config.defaultTestMessage)
    return {
      result: { messageId },
      details: { instanceId: creds.instanceId, toOwnNumber: to === undefined, messageId },
    }
  })
}
