import { sql, type Kysely } from 'kysely'

// Frozen in time: no imports from app code.
// The Green-API simulator's instances (GREENAPI_MODE=simulator, docs/decisions/215): in the app's
// database instead of `.data/simulator.json`, so `db:reset` empties it with everything else and
// several app processes share one simulator. Not tenant-keyed: it stands for Green-API's own
// storage, whose instances belong to nobody until the app claims them.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('wa_simulator_instances')
    .addColumn('id', 'text', (c) => c.primaryKey())
    // The instance as the simulator keeps it (token, state, phone, settings, QR nonce, pairing).
    .addColumn('record', 'jsonb', (c) => c.notNull())
    // Bumped on every write: a process re-reads only the rows another process changed.
    .addColumn('version', 'bigint', (c) => c.notNull().defaultTo(1))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('wa_simulator_instances').ifExists().execute()
}
