import { sql, type Kysely } from 'kysely'
import type { Database } from '../../db/schema'
import type { ConnectionStatusResult } from '../../domain/whatsapp'
import type { StatusPublisher } from '../../domain/ports/status-publisher'

/** PostgreSQL channel the app LISTENs on to fan status changes out to SSE streams. */
export const WA_STATUS_CHANNEL = 'wa_status'

/**
 * Publishes with `pg_notify('wa_status', json)`; payload `{tenantId, status}` where `status` is
 * the status in its JSON form (dates as ISO strings), read back by `decodeConnectionStatus`.
 */
export class PgStatusPublisher implements StatusPublisher {
  constructor(private readonly db: Kysely<Database>) {}

  async publish(tenantId: string, status: ConnectionStatusResult): Promise<void> {
    const payload = JSON.stringify({ tenantId, status })
    await sql`SELECT pg_notify(${WA_STATUS_CHANNEL}, ${payload})`.execute(this.db)
  }
}
