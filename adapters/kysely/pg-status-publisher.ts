import { sql, type Kysely } from 'kysely'
import type { Database } from '../../db/schema'
import type { StatusPublisher, StatusSnapshot } from '../../domain/ports/status-publisher'

/** PostgreSQL channel the app LISTENs on to fan status changes out to SSE streams. */
export const WA_STATUS_CHANNEL = 'wa_status'

/** Publishes with `pg_notify('wa_status', json)`; payload `{tenantId, status, connected, phoneNumber}`. */
export class PgStatusPublisher implements StatusPublisher {
  constructor(private readonly db: Kysely<Database>) {}

  async publish(snapshot: StatusSnapshot): Promise<void> {
    const payload = JSON.stringify({
      tenantId: snapshot.tenantId,
      status: snapshot.status,
      connected: snapshot.connected,
      phoneNumber: snapshot.phoneNumber,
    })
    await sql`SELECT pg_notify(${WA_STATUS_CHANNEL}, ${payload})`.execute(this.db)
  }
}
