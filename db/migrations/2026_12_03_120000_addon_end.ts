import { sql, type Kysely } from 'kysely'

// Frozen in time: no imports from app code.
// When WhatsApp Pro is switched off for a tenant, the time it ended (docs/decisions/169): the
// page and the status answer say when the number will be unlinked, and a scheduled job unlinks
// it after WA_DISABLED_GRACE_DAYS. A trigger, so every writer (pages, `ops`, a billing system
// writing the table) records it the same way; switched back on, the time is cleared.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('tenant_features').addColumn('whatsapp_ended_at', 'timestamptz').execute()
  await sql`
    CREATE FUNCTION tenant_features_whatsapp_ended() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF NEW.whatsapp_enabled THEN
        NEW.whatsapp_ended_at := NULL;
      ELSIF TG_OP = 'UPDATE' AND OLD.whatsapp_enabled THEN
        NEW.whatsapp_ended_at := now();
      END IF;
      RETURN NEW;
    END $$`.execute(db)
  await sql`
    CREATE TRIGGER tenant_features_whatsapp_ended BEFORE INSERT OR UPDATE ON tenant_features
    FOR EACH ROW EXECUTE FUNCTION tenant_features_whatsapp_ended()`.execute(db)
  await sql`CREATE INDEX tenant_features_whatsapp_ended_at ON tenant_features (whatsapp_ended_at) WHERE whatsapp_ended_at IS NOT NULL`.execute(
    db,
  )
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP TRIGGER IF EXISTS tenant_features_whatsapp_ended ON tenant_features`.execute(db)
  await sql`DROP FUNCTION IF EXISTS tenant_features_whatsapp_ended()`.execute(db)
  await db.schema.alterTable('tenant_features').dropColumn('whatsapp_ended_at').execute()
}
