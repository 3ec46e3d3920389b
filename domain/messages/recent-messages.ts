import type { MessageStore } from '../ports/message-store'
import type { MessageDirection, MessageStatus } from './message'

/** One line of the settings page's "recent messages" (decision 177): no text. */
export interface RecentMessage {
  id: string
  direction: MessageDirection
  /** PERSONAL DATA: the page masks it before showing it. */
  peer: string
  status: MessageStatus
  at: Date
}

/** The tenant's latest messages, newest first, without their texts (the settings page's list). */
export async function recentMessages(
  deps: { messages: MessageStore },
  input: { tenantId: string; limit: number },
): Promise<RecentMessage[]> {
  const { messages } = await deps.messages.list(input.tenantId, { limit: Math.min(Math.max(input.limit, 1), 50) })
  return messages.map((m) => ({
    id: m.id,
    direction: m.direction,
    peer: m.peer,
    status: m.status,
    at: m.statusHistory.at(-1)?.at ?? m.createdAt,
  }))
}
