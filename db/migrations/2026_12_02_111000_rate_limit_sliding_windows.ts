import { sql, type Kysely } from 'kysely'

// Frozen in time. Rate limits become sliding windows (fixed windows aligned on the
// clock let 7 test messages through in 3 minutes around the hour with a 5/h limit): one row per
// key holds the times of the hits accepted within the window (at most `limit` of them).
// rate_limit_counters stays: other counters (OAuth state, login) still use it.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('rate_limit_windows')
    .addColumn('key', 'text', (c) => c.primaryKey())
    .addColumn('hits', sql`timestamptz[]`, (c) => c.notNull())
    .addColumn('window_seconds', 'integer', (c) => c.notNull())
    .addColumn('last_allowed', 'boolean', (c) => c.notNull().defaultTo(true))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull())
    .execute()
  await db.schema.createIndex('rate_limit_windows_updated_at_idx').on('rate_limit_windows').column('updated_at').execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('rate_limit_windows').execute()
}
