import { sql, type Kysely } from 'kysely'
import type { Database } from '../../db/schema'
import type { ConnectionStatusResult } from '../../domain/whatsapp'
import type { MessageStatusPublisher, MessageStatusSignal, StatusPublisher } from '../../domain/ports/status-publisher'

/** PostgreSQL channel the app LISTENs on to fan status changes out to SSE streams. */
export const WA_STATUS_CHANNEL = 'wa_status'

/**
 * Publishes with `pg_notify('wa_status', json)`; payload `{tenantId, status}` where `status` is
 * the status in its JSON form (dates as ISO strings), read back by `decodeConnectionStatus`;
 * a message's status goes on the same channel as `{kind: "message", …}`.
 */
export class PgStatusPublisher implements StatusPublisher, MessageStatusPublisher {
  constructor(private readonly db: Kysely<Database>) {}

  async publish(tenantId: string, status: ConnectionStatusResult): Promise<void> {
    const payload = JSON.stringify({ tenantId, status })
    await sql`SELECT pg_notify(${WA_STATUS_CHANNEL}, ${payload})`.execute(this.db)
  }

  /**
   * `{kind: "message", tenantId, messageId, status}` on the same channel: ids and a status only,
   * never a text or a phone number. Best effort: a failure is the caller's to log.
   */
  async publishMessage(signal: MessageStatusSignal): Promise<void> {
    const payload = JSON.stringify({
      kind: 'message',
      tenantId: signal.tenantId,
      messageId: signal.messageId,
      status: signal.status,
    })
    await sql`SELECT pg_notify(${WA_STATUS_CHANNEL}, ${payload})`.execute(this.db)
  }
}
