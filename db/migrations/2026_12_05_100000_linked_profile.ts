import { sql, type Kysely } from 'kysely'

// Frozen in time: no imports from app code.
// The linked account's profile (docs/decisions/240–242), personal data, encrypted at rest:
// - on the provider row: the profile name (vault envelope), the version of the stored picture
//   (a digest, served at /api/wa/profile-picture?v=…) and when the profile was last fetched
//   (at most daily);
// - the picture itself (vault envelope of its base64 bytes, with its type from the magic bytes)
//   in a table of its own, so the hot connection row stays small; deleted with the provider row
//   (disconnect, delete, add-on end: ON DELETE CASCADE).
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('tenant_provider_configs')
    .addColumn('profile_name_encrypted', 'text')
    .addColumn('profile_picture_version', 'text')
    .addColumn('profile_fetched_at', 'timestamptz')
    .execute()
  await db.schema
    .createTable('wa_profile_pictures')
    .addColumn('provider_config_id', 'bigint', (c) => c.primaryKey().references('tenant_provider_configs.id').onDelete('cascade'))
    .addColumn('tenant_id', 'text', (c) => c.notNull().unique())
    .addColumn('version', 'text', (c) => c.notNull())
    .addColumn('content_type', 'text', (c) => c.notNull().check(sql`content_type IN ('image/jpeg', 'image/png', 'image/webp')`))
    .addColumn('picture_encrypted', 'text', (c) => c.notNull())
    .addColumn('fetched_at', 'timestamptz', (c) => c.notNull())
    .execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('wa_profile_pictures').ifExists().execute()
  await db.schema
    .alterTable('tenant_provider_configs')
    .dropColumn('profile_fetched_at')
    .dropColumn('profile_picture_version')
    .dropColumn('profile_name_encrypted')
    .execute()
}
