import type { MessageRecord } from './message'
import type { MessagesDeps } from './messages-deps'
import { messageView } from './message-view'

/** `whatsapp.message.updated` with the message as the API shows it. Best effort (the sink swallows its failures). */
export async function emitMessageUpdated(deps: Pick<MessagesDeps, 'events' | 'logger'>, message: MessageRecord): Promise<void> {
  try {
    await deps.events.emit(message.tenantId, { type: 'whatsapp.message.updated', data: { ...messageView(message) } })
  } catch {
    deps.logger.warn({ tenantId: message.tenantId, messageId: message.id }, 'message event could not be recorded')
  }
}
