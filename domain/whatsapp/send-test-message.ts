import { MESSAGE_SEND_WINDOW_HOURS } from '../messages/message'
import type { MessageStore } from '../ports/message-store'
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
 * With `messages`, the sent message is recorded as an outbound message (`sent`, with Green-API's
 * id) so its receipts move it like any other (`recordedId`); a failure to record it is logged,
 * never reported as a failed send (the message left: a retry would send it twice).
 */
export async function sendTestMessage(
  deps: WhatsAppDeps,
  input: { tenantId: string; actor: Actor; to?: string; message: string; ip?: string },
  messages?: MessageStore,
): Promise<{ messageId: string; recordedId?: string }> {
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
    const startedAt = deps.clock.now()
    const { messageId } = await deps.provider.sendText(creds, recipient, message.data)
    let recordedId: string | undefined
    if (messages) {
      const id = deps.ids.newId()
      try {
        await messages.insertSentOutbound({
          id,
          tenantId,
          instanceId: creds.instanceId,
          to: recipient,
          text: message.data,
          reference: null,
          idempotencyKey: null,
          requestFingerprint: null,
          createdAt: startedAt,
          expiresAt: new Date(startedAt.getTime() + MESSAGE_SEND_WINDOW_HOURS * 3600_000),
          upstreamMessageId: messageId,
          sentAt: deps.clock.now(),
        })
        recordedId = id
      } catch (err) {
        deps.logger.error({ tenantId, instanceId: creds.instanceId, err }, 'test message sent but not recorded')
      }
    }
    return {
      result: recordedId ? { messageId, recordedId } : { messageId },
      details: { instanceId: creds.instanceId, toOwnNumber: to === undefined, messageId },
    }
  })
}
