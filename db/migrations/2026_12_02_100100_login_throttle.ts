import { sql, type Kysely } from 'kysely'

// Frozen in time. Login throttling gets its own counters (docs/decisions/080): one row
// per key, reserved atomically BEFORE the password check, windows that start at the first
// failure (not on the clock), an optional progressive delay; and the addresses an account
// recently signed in from, so an attack on the account does not lock its owner out.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('login_throttle')
    .addColumn('key', 'text', (c) => c.primaryKey())
    .addColumn('failures', 'integer', (c) => c.notNull())
    .addColumn('window_start', 'timestamptz', (c) => c.notNull())
    .addColumn('next_attempt_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute()
  await db.schema.createIndex('login_throttle_window_idx').on('login_throttle').column('window_start').execute()
  await db.schema
    .createTable('login_known_addresses')
    // sha256 of (account key, client address): neither the e-mail nor the address is stored.
    .addColumn('key', 'text', (c) => c.primaryKey())
    .addColumn('last_success_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute()
  await db.schema.createIndex('login_known_addresses_seen_idx').on('login_known_addresses').column('last_success_at').execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('login_known_addresses').execute()
  await db.schema.dropTable('login_throttle').execute()
}
