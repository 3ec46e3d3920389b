import { sql, type Kysely } from 'kysely'

// Frozen in time: no imports from app code.
// Green-API instances, the per-tenant provider row, the status timeline, upgrade requests,
// sessions, API tokens, rate-limit counters and the append-only audit log.
export async function up(db: Kysely<any>): Promise<void> {
  // One row per Green-API instance the app may use (shared env instance, pool, partner-created,
  // simulator). tenant_id UNIQUE: one tenant per instance, enforced by the database.
  await db.schema
    .createTable('wa_instances')
    .addColumn('id', 'text', (c) => c.primaryKey().check(sql`id ~ '^[0-9]{1,20}$'`))
    .addColumn('mode', 'text', (c) => c.notNull().check(sql`mode IN ('shared', 'pool', 'partner', 'simulator')`))
    .addColumn('api_url', 'text', (c) => c.notNull())
    // AES-256-GCM envelope of the apiTokenInstance (never in clear).
    .addColumn('encrypted_token', 'text', (c) => c.notNull())
    // AES-256-GCM envelope of the per-instance webhook token Green-API sends back to us.
    .addColumn('encrypted_webhook_token', 'text')
    .addColumn('tenant_id', 'text', (c) => c.unique().references('tenants.id').onDelete('set null'))
    .addColumn('claimed_at', 'timestamptz')
    // Single-flight lease for getStateInstance across processes (see docs/decisions).
    .addColumn('state_polled_at', 'timestamptz')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute()

  await db.schema
    .createTable('tenant_provider_configs')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
    .addColumn('provider', 'text', (c) => c.notNull().check(sql`provider IN ('green_api')`))
    // v1.<keyId>.<base64url(iv|ciphertext|tag)> of {"instanceId","apiToken","apiUrl"}.
    .addColumn('encrypted_config', 'text', (c) => c.notNull())
    .addColumn('instance_id', 'text', (c) => c.notNull().unique().references('wa_instances.id'))
    .addColumn('connection_status', 'text', (c) =>
      c
        .notNull()
        .check(sql`connection_status IN ('notAuthorized', 'authorized', 'blocked', 'starting', 'yellowCard', 'sleepMode')`),
    )
    .addColumn('is_active', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('phone_number', 'text', (c) => c.check(sql`phone_number ~ '^\\+[1-9][0-9]{6,14}$'`))
    .addColumn('link_started_at', 'timestamptz')
    .addColumn('link_expires_at', 'timestamptz')
    .addColumn('status_changed_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('status_checked_at', 'timestamptz')
    // Provider-side timestamp of the last applied event, to drop stale/out-of-order webhooks.
    .addColumn('last_event_at', 'timestamptz')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addUniqueConstraint('tenant_provider_configs_tenant_provider_key', ['tenant_id', 'provider'])
    .execute()

  await db.schema
    .createTable('wa_status_events')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
    .addColumn('instance_id', 'text')
    .addColumn('from_status', 'text')
    .addColumn('to_status', 'text', (c) => c.notNull())
    .addColumn('source', 'text', (c) =>
      c.notNull().check(sql`source IN ('link', 'poll', 'webhook', 'disconnect', 'reconcile', 'expire')`),
    )
    .addColumn('occurred_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute()
  await db.schema
    .createIndex('wa_status_events_tenant_idx')
    .on('wa_status_events')
    .columns(['tenant_id', 'occurred_at'])
    .execute()

  await db.schema
    .createTable('upgrade_requests')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
    .addColumn('feature', 'text', (c) => c.notNull().check(sql`feature IN ('whatsapp')`))
    .addColumn('requested_by', 'uuid', (c) => c.references('users.id').onDelete('set null'))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('handled_at', 'timestamptz')
    .execute()
  // Repeated clicks never duplicate an open request.
  await sql`CREATE UNIQUE INDEX upgrade_requests_open_key ON upgrade_requests (tenant_id, feature) WHERE handled_at IS NULL`.execute(
    db,
  )

  await db.schema
    .createTable('sessions')
    // sha256 of the random session id held in the cookie; the cookie value is never stored.
    .addColumn('id_hash', 'text', (c) => c.primaryKey())
    .addColumn('user_id', 'uuid', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('last_seen_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .addColumn('revoked_at', 'timestamptz')
    .addColumn('ip', 'text')
    .addColumn('user_agent', 'text')
    .execute()
  await db.schema.createIndex('sessions_user_idx').on('sessions').column('user_id').execute()

  await db.schema
    .createTable('api_tokens')
    .addColumn('jti', 'uuid', (c) => c.primaryKey())
    .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
    .addColumn('user_id', 'uuid', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .addColumn('last_used_at', 'timestamptz')
    .addColumn('revoked_at', 'timestamptz')
    .execute()
  await db.schema.createIndex('api_tokens_tenant_idx').on('api_tokens').column('tenant_id').execute()

  // Fixed-window counters shared by every app process (rate limits, login throttling).
  await db.schema
    .createTable('rate_limit_counters')
    .addColumn('key', 'text', (c) => c.notNull())
    .addColumn('window_start', 'timestamptz', (c) => c.notNull())
    .addColumn('count', 'integer', (c) => c.notNull().defaultTo(0))
    .addPrimaryKeyConstraint('rate_limit_counters_pkey', ['key', 'window_start'])
    .execute()

  await db.schema
    .createTable('audit_log')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('actor', 'text', (c) => c.notNull())
    .addColumn('tenant_id', 'text')
    .addColumn('action', 'text', (c) => c.notNull())
    .addColumn('outcome', 'text', (c) => c.notNull().check(sql`outcome IN ('success', 'failure', 'denied')`))
    .addColumn('ip', 'text')
    .addColumn('details', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .execute()
  await db.schema.createIndex('audit_log_tenant_idx').on('audit_log').columns(['tenant_id', 'at']).execute()
  // Append-only: updates and deletes are refused by the database itself.
  await sql`
    CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN RAISE EXCEPTION 'audit_log is append-only'; END $$`.execute(db)
  await sql`
    CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()`.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('audit_log').execute()
  await sql`DROP FUNCTION IF EXISTS audit_log_append_only()`.execute(db)
  for (const t of [
    'rate_limit_counters',
    'api_tokens',
    'sessions',
    'upgrade_requests',
    'wa_status_events',
    'tenant_provider_configs',
    'wa_instances',
  ]) {
    await db.schema.dropTable(t).execute()
  }
}
