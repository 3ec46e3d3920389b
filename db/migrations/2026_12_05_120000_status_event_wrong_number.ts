import { sql, type Kysely } from 'kysely'

// Frozen in time: no imports from app code.
// The right phone (docs/decisions/200): a refused scan is an entry of the history of its own
// (`source = 'wrong_number'`), so "Historique" says the attempt ended in a refusal.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`ALTER TABLE wa_status_events DROP CONSTRAINT IF EXISTS wa_status_events_source_check`.execute(db)
  await sql`ALTER TABLE wa_status_events ADD CONSTRAINT wa_status_events_source_check
    CHECK (source IN ('link', 'poll', 'webhook', 'disconnect', 'reconcile', 'expire', 'wrong_number'))`.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`DELETE FROM wa_status_events WHERE source = 'wrong_number'`.execute(db)
  await sql`ALTER TABLE wa_status_events DROP CONSTRAINT IF EXISTS wa_status_events_source_check`.execute(db)
  await sql`ALTER TABLE wa_status_events ADD CONSTRAINT wa_status_events_source_check
    CHECK (source IN ('link', 'poll', 'webhook', 'disconnect', 'reconcile', 'expire'))`.execute(db)
}
