import { sql, type Kysely } from 'kysely'

// Frozen in time: no imports from app code.
// Cache invalidation for the hot path (docs/decisions/070): every change to the rows the
// per-process caches hold — made by the app, by `npm run ops`, or by hand in psql — sends
// `NOTIFY wa_cache '{"k":<kind>,"id":<key>}'`; TRUNCATE sends `{"k":"all"}`.
const TABLES: Array<{ table: string; kind: string; column: string }> = [
  { table: 'tenant_features', kind: 'features', column: 'tenant_id' },
  { table: 'tenant_provider_configs', kind: 'connection', column: 'tenant_id' },
  { table: 'memberships', kind: 'membership', column: 'user_id' },
  { table: 'users', kind: 'user', column: 'id' },
  { table: 'api_tokens', kind: 'token', column: 'jti' },
]

export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    CREATE OR REPLACE FUNCTION wa_cache_notify() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
      new_id text;
      old_id text;
    BEGIN
      IF TG_LEVEL = 'STATEMENT' THEN
        PERFORM pg_notify('wa_cache', json_build_object('k', 'all')::text);
        RETURN NULL;
      END IF;
      IF TG_OP <> 'INSERT' THEN old_id := to_jsonb(OLD) ->> TG_ARGV[1]; END IF;
      IF TG_OP <> 'DELETE' THEN new_id := to_jsonb(NEW) ->> TG_ARGV[1]; END IF;
      IF new_id IS NOT NULL THEN
        PERFORM pg_notify('wa_cache', json_build_object('k', TG_ARGV[0], 'id', new_id)::text);
      END IF;
      IF old_id IS NOT NULL AND old_id IS DISTINCT FROM new_id THEN
        PERFORM pg_notify('wa_cache', json_build_object('k', TG_ARGV[0], 'id', old_id)::text);
      END IF;
      RETURN NULL;
    END
    $$`.execute(db)
  for (const { table, kind, column } of TABLES) {
    await sql
      .raw(
        `CREATE TRIGGER ${table}_wa_cache AFTER INSERT OR UPDATE OR DELETE ON ${table}
         FOR EACH ROW EXECUTE FUNCTION wa_cache_notify('${kind}', '${column}')`,
      )
      .execute(db)
    await sql
      .raw(
        `CREATE TRIGGER ${table}_wa_cache_truncate AFTER TRUNCATE ON ${table}
         FOR EACH STATEMENT EXECUTE FUNCTION wa_cache_notify('all', '')`,
      )
      .execute(db)
  }
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const { table } of TABLES) {
    await sql.raw(`DROP TRIGGER IF EXISTS ${table}_wa_cache_truncate ON ${table}`).execute(db)
    await sql.raw(`DROP TRIGGER IF EXISTS ${table}_wa_cache ON ${table}`).execute(db)
  }
  await sql`DROP FUNCTION IF EXISTS wa_cache_notify()`.execute(db)
}
