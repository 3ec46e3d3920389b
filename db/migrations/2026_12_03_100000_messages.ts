import { sql, type Kysely } from 'kysely'

// Frozen in time: no imports from app code.
// Messages of the CRM API (issue #15, docs/data.md#wa_messages): outbound ones the app sends
// through the tenant's Green-API instance, inbound ones it received there. The peer's number and
// the text are vault envelopes bound to the tenant AND the message id (never in clear); the
// idempotency fingerprint is a keyed hash (HMAC), never a plain hash of the text.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('wa_messages')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
    .addColumn('direction', 'text', (c) => c.notNull().check(sql`direction IN ('outbound', 'inbound')`))
    // The Green-API instance the message went through / came in on (digits; not a foreign key:
    // a message outlives the claim of its instance).
    .addColumn('instance_id', 'text', (c) => c.notNull())
    .addColumn('peer_encrypted', 'text', (c) => c.notNull())
    .addColumn('text_encrypted', 'text', (c) => c.notNull())
    // What the message carries: 'text', or the type of a media message stored as a placeholder.
    .addColumn('content_type', 'text', (c) => c.notNull().defaultTo('text'))
    .addColumn('reference', 'text', (c) => c.check(sql`char_length(reference) <= 200`))
    .addColumn('status', 'text', (c) =>
      c.notNull().check(sql`status IN ('queued', 'sending', 'sent', 'delivered', 'read', 'failed', 'unknown', 'received')`),
    )
    .addColumn('status_history', 'jsonb', (c) => c.notNull().defaultTo(sql`'[]'::jsonb`))
    .addColumn('error_code', 'text')
    .addColumn('error_message', 'text')
    .addColumn('upstream_message_id', 'text')
    .addColumn('idempotency_key', 'text', (c) => c.check(sql`char_length(idempotency_key) <= 255`))
    .addColumn('request_fingerprint', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('send_started_at', 'timestamptz')
    .addColumn('expires_at', 'timestamptz')
    .execute()

  // Newest-first cursor pagination per tenant, with optional direction / status filters.
  await sql`CREATE INDEX wa_messages_tenant_created_idx ON wa_messages (tenant_id, created_at DESC, id DESC)`.execute(db)
  await sql`CREATE INDEX wa_messages_tenant_direction_created_idx ON wa_messages (tenant_id, direction, created_at DESC, id DESC)`.execute(
    db,
  )
  await sql`CREATE INDEX wa_messages_tenant_status_created_idx ON wa_messages (tenant_id, status, created_at DESC, id DESC)`.execute(
    db,
  )
  // One message per idempotency key and tenant.
  await sql`CREATE UNIQUE INDEX wa_messages_idempotency_key ON wa_messages (tenant_id, idempotency_key) WHERE idempotency_key IS NOT NULL`.execute(
    db,
  )
  // Receipts and inbound dedupe look messages up by Green-API's idMessage on an instance.
  await sql`CREATE UNIQUE INDEX wa_messages_upstream_key ON wa_messages (instance_id, upstream_message_id) WHERE upstream_message_id IS NOT NULL`.execute(
    db,
  )
  // The send queue of an instance: its unsent outbound messages, oldest first; and the pace.
  await sql`CREATE INDEX wa_messages_outbox_idx ON wa_messages (instance_id, created_at, id)
    WHERE direction = 'outbound' AND status IN ('queued', 'sending')`.execute(db)
  await sql`CREATE INDEX wa_messages_instance_send_started_idx ON wa_messages (instance_id, send_started_at DESC)
    WHERE send_started_at IS NOT NULL`.execute(db)
  // Retention purge: oldest first across tenants.
  await sql`CREATE INDEX wa_messages_created_idx ON wa_messages (created_at)`.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('wa_messages').ifExists().execute()
}
