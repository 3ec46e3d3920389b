import { sql, type Kysely } from 'kysely'

// Frozen in time: no imports from app code.
// A token's `last_used_at` moves once a minute per token while it is used (the guard's touch):
// the cache trigger of `api_tokens` no longer fires for that alone. Every process dropped its
// cached facts for the token at each touch and read them again, 1000 tokens in use cost 1000
// NOTIFYs and reloads a minute in each process (docs/decisions/271). A revocation, an expiry
// change or a new owner still notifies, as does INSERT and DELETE.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`DROP TRIGGER IF EXISTS api_tokens_wa_cache ON api_tokens`.execute(db)
  await sql`
    CREATE TRIGGER api_tokens_wa_cache AFTER INSERT OR DELETE ON api_tokens
    FOR EACH ROW EXECUTE FUNCTION wa_cache_notify('token', 'jti')`.execute(db)
  await sql`
    CREATE TRIGGER api_tokens_wa_cache_update AFTER UPDATE ON api_tokens
    FOR EACH ROW
    WHEN ((to_jsonb(OLD) - 'last_used_at') IS DISTINCT FROM (to_jsonb(NEW) - 'last_used_at'))
    EXECUTE FUNCTION wa_cache_notify('token', 'jti')`.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP TRIGGER IF EXISTS api_tokens_wa_cache_update ON api_tokens`.execute(db)
  await sql`DROP TRIGGER IF EXISTS api_tokens_wa_cache ON api_tokens`.execute(db)
  await sql`
    CREATE TRIGGER api_tokens_wa_cache AFTER INSERT OR UPDATE OR DELETE ON api_tokens
    FOR EACH ROW EXECUTE FUNCTION wa_cache_notify('token', 'jti')`.execute(db)
}
