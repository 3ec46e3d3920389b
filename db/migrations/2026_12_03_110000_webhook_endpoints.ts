import { sql, type Kysely } from 'kysely'

// Frozen in time: no imports from app code.
// Signed events to the tenant's CRM (docs/data.md#crm-events): the endpoints a tenant registered,
// the events it was sent (payload encrypted), one delivery per event × endpoint with its retry
// schedule, and every attempt's outcome.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('wa_webhook_endpoints')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
    .addColumn('url', 'text', (c) => c.notNull().check(sql`length(url) <= 2048`))
    // Subscribed event types; NULL = all of them.
    .addColumn('events', sql`text[]`)
    // Vault envelope of the `whsec_…` signing secret, bound to tenant + endpoint id.
    .addColumn('secret_encrypted', 'text', (c) => c.notNull())
    .addColumn('enabled', 'boolean', (c) => c.notNull().defaultTo(true))
    .addColumn('disabled_at', 'timestamptz')
    .addColumn('disabled_reason', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('created_by', 'text', (c) => c.notNull())
    .execute()
  await db.schema.createIndex('wa_webhook_endpoints_tenant_idx').on('wa_webhook_endpoints').columns(['tenant_id']).execute()

  await db.schema
    .createTable('wa_webhook_events')
    // The `webhook-id` header: the receiver's idempotency key, the same for every retry.
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
    .addColumn('type', 'text', (c) => c.notNull())
    // Vault envelope of the event's `data` JSON (may hold a message text or a phone number).
    .addColumn('payload_encrypted', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute()

  await db.schema
    .createTable('wa_webhook_deliveries')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
    .addColumn('event_id', 'text', (c) => c.notNull().references('wa_webhook_events.id').onDelete('cascade'))
    .addColumn('endpoint_id', 'uuid', (c) => c.notNull().references('wa_webhook_endpoints.id').onDelete('cascade'))
    .addColumn('status', 'text', (c) =>
      c
        .notNull()
        .defaultTo('pending')
        .check(sql`status IN ('pending', 'succeeded', 'failed', 'exhausted')`),
    )
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    // When the next try is due (NULL: none planned: succeeded or exhausted).
    .addColumn('next_attempt_at', 'timestamptz')
    // The end of the retry window: a failure past it exhausts the delivery.
    .addColumn('retry_until', 'timestamptz', (c) => c.notNull())
    .addColumn('last_attempt_at', 'timestamptz')
    .addColumn('last_http_status', 'integer')
    .addColumn('last_error', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addUniqueConstraint('wa_webhook_deliveries_event_endpoint_key', ['event_id', 'endpoint_id'])
    .execute()
  await db.schema
    .createIndex('wa_webhook_deliveries_endpoint_idx')
    .on('wa_webhook_deliveries')
    .columns(['endpoint_id', 'created_at'])
    .execute()

  await db.schema
    .createTable('wa_webhook_attempts')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
    .addColumn('delivery_id', 'uuid', (c) => c.notNull().references('wa_webhook_deliveries.id').onDelete('cascade'))
    .addColumn('at', 'timestamptz', (c) => c.notNull())
    .addColumn('http_status', 'integer')
    // A short code when no HTTP answer came (timeout, refused address, connection error).
    .addColumn('error', 'text')
    .addColumn('duration_ms', 'integer', (c) => c.notNull())
    // Vault envelope of at most 1 KiB of the answer (the CRM may echo personal data).
    .addColumn('response_encrypted', 'text')
    .execute()
  await db.schema
    .createIndex('wa_webhook_attempts_delivery_idx')
    .on('wa_webhook_attempts')
    .columns(['delivery_id', 'at'])
    .execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('wa_webhook_attempts').execute()
  await db.schema.dropTable('wa_webhook_deliveries').execute()
  await db.schema.dropTable('wa_webhook_events').execute()
  await db.schema.dropTable('wa_webhook_endpoints').execute()
}
