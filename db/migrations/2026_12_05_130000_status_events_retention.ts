import type { Kysely } from 'kysely'

// Frozen in time: no imports from app code.
// The status history's retention purge (docs/decisions/259) deletes by `occurred_at` across
// tenants, oldest first: the (tenant_id, occurred_at) index cannot serve that range, so the
// nightly delete would read the whole table.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.createIndex('wa_status_events_occurred_idx').on('wa_status_events').column('occurred_at').execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('wa_status_events_occurred_idx').ifExists().execute()
}
