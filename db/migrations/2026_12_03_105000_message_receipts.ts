import { sql, type Kysely } from 'kysely'

// Frozen in time: no imports from app code.
// Receipts (`outgoingMessageStatus`) that arrived before the send stored Green-API's idMessage
// (docs/decisions/175-early-receipts.md): kept 24 h, applied once the id is known. Ids and a
// status only: never the chat id, a phone number or a text.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('wa_message_receipts')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    // The tenant that held the instance when the receipt came (only its message may take it).
    .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
    .addColumn('instance_id', 'text', (c) => c.notNull())
    .addColumn('upstream_message_id', 'text', (c) => c.notNull().check(sql`char_length(upstream_message_id) <= 128`))
    .addColumn('status', 'text', (c) =>
      c.notNull().check(sql`status IN ('sent', 'delivered', 'read', 'failed', 'noAccount', 'notInGroup', 'yellowCard')`),
    )
    // Green-API's timestamp of the receipt (what the message's history records).
    .addColumn('event_at', 'timestamptz', (c) => c.notNull())
    .addColumn('received_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute()
  await sql`CREATE INDEX wa_message_receipts_upstream_idx ON wa_message_receipts (instance_id, upstream_message_id)`.execute(db)
  await sql`CREATE INDEX wa_message_receipts_received_idx ON wa_message_receipts (received_at)`.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('wa_message_receipts').ifExists().execute()
}
