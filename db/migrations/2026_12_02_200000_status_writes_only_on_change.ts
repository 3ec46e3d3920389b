import { sql, type Kysely } from 'kysely'

// Frozen in time: no imports from app code.
// The status hot path writes only what changed (docs/decisions/120):
// - `link_expiry_recorded_at` marks the link attempt whose expiry is already on the timeline, so
//   the background refresher records it once and never looks at it again (cleared by a new
//   attempt);
// - the cache trigger of `tenant_provider_configs` no longer fires when only bookkeeping moved
//   (`status_checked_at`, `last_event_at`, `updated_at`, `link_expiry_recorded_at`): a background
//   check that confirmed the same state must not flush the cached row in every process.
const BOOKKEEPING = `'status_checked_at', 'last_event_at', 'updated_at', 'link_expiry_recorded_at'`

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('tenant_provider_configs').addColumn('link_expiry_recorded_at', 'timestamptz').execute()
  await sql`DROP TRIGGER IF EXISTS tenant_provider_configs_wa_cache ON tenant_provider_configs`.execute(db)
  await sql`
    CREATE TRIGGER tenant_provider_configs_wa_cache AFTER INSERT OR DELETE ON tenant_provider_configs
    FOR EACH ROW EXECUTE FUNCTION wa_cache_notify('connection', 'tenant_id')`.execute(db)
  await sql
    .raw(
      `CREATE TRIGGER tenant_provider_configs_wa_cache_update AFTER UPDATE ON tenant_provider_configs
       FOR EACH ROW
       WHEN ((to_jsonb(OLD) - ARRAY[${BOOKKEEPING}]) IS DISTINCT FROM (to_jsonb(NEW) - ARRAY[${BOOKKEEPING}]))
       EXECUTE FUNCTION wa_cache_notify('connection', 'tenant_id')`,
    )
    .execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP TRIGGER IF EXISTS tenant_provider_configs_wa_cache_update ON tenant_provider_configs`.execute(db)
  await sql`DROP TRIGGER IF EXISTS tenant_provider_configs_wa_cache ON tenant_provider_configs`.execute(db)
  await sql`
    CREATE TRIGGER tenant_provider_configs_wa_cache AFTER INSERT OR UPDATE OR DELETE ON tenant_provider_configs
    FOR EACH ROW EXECUTE FUNCTION wa_cache_notify('connection', 'tenant_id')`.execute(db)
  await db.schema.alterTable('tenant_provider_configs').dropColumn('link_expiry_recorded_at').execute()
}
