import type { Kysely } from 'kysely'

// Frozen in time. A quarantined instance (needs_logout) is logged out again in the background
// with backoff; after repeated failures it is marked broken and left to the operators.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('wa_instances')
    // Consecutive failed logouts since the instance was quarantined.
    .addColumn('logout_failures', 'integer', (c) => c.notNull().defaultTo(0))
    // When the next background logout attempt is due (null: now).
    .addColumn('logout_retry_at', 'timestamptz')
    // An attempt in flight (one process at a time); claims skip the instance meanwhile.
    .addColumn('logout_lease_until', 'timestamptz')
    // Set after too many failures: never claimed by the pool, never retried, shown by ops.
    .addColumn('broken_at', 'timestamptz')
    .execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('wa_instances')
    .dropColumn('broken_at')
    .dropColumn('logout_lease_until')
    .dropColumn('logout_retry_at')
    .dropColumn('logout_failures')
    .execute()
}
