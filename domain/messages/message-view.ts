import type { MessageRecord } from './message'

/**
 * A message as `GET /api/wa/messages/:id` answers it and as the CRM events carry it
 * (`whatsapp.message.updated` / `.received`): `to` for outbound, `from` for inbound; dates in
 * ISO 8601. Personal data (peer, text) inside: for the tenant's own API and endpoints only,
 * never for logs or NOTIFY payloads.
 */
export function messageView(m: MessageRecord): Record<string, unknown> {
  return {
    id: m.id,
    direction: m.direction,
    ...(m.direction === 'outbound' ? { to: m.peer } : { from: m.peer }),
    text: m.text,
    ...(m.direction === 'inbound' ? { contentType: m.contentType } : {}),
    status: m.status,
    statusHistory: m.statusHistory.map((e) => ({ status: e.status, at: e.at.toISOString() })),
    ...(m.error ? { error: { code: m.error.code, message: m.error.message } } : {}),
    reference: m.reference,
    createdAt: m.createdAt.toISOString(),
  }
}
