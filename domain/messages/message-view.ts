import type { MessageRecord } from './message'

/**
 * A message as the API shows it (`GET /api/wa/messages/:id`'s `message`) and as the
 * `whatsapp.message.updated` event carries it: one builder for both (docs/api.md#messages).
 */
export interface MessageView {
  id: string
  direction: 'outbound' | 'inbound'
  to?: string
  from?: string
  text: string
  contentType: string
  status: string
  statusHistory: Array<{ status: string; at: string }>
  error?: { code: string; message: string }
  reference: string | null
  createdAt: string
  updatedAt: string
}

export function messageView(m: MessageRecord): MessageView {
  return {
    id: m.id,
    direction: m.direction,
    ...(m.direction === 'outbound' ? { to: m.peer } : { from: m.peer }),
    text: m.text,
    contentType: m.contentType,
    status: m.status,
    statusHistory: m.statusHistory.map((e) => ({ status: e.status, at: e.at.toISOString() })),
    ...(m.error ? { error: { code: m.error.code, message: m.error.message } } : {}),
    reference: m.reference,
    createdAt: m.createdAt.toISOString(),
    updatedAt: m.updatedAt.toISOString(),
  }
}
