import type { Kysely } from 'kysely'

// Frozen in time: no imports from app code.
// The right phone (docs/decisions/200): a link attempt may name the number it expects
// (`expected_phone`, E.164); when another phone scanned, the instance is logged out and only the
// masked number that scanned is kept (`wrong_phone_masked`) for the page and the status answer.
// `wa_last_linked_phones` remembers the last number a tenant linked, past a disconnect (which
// deletes the provider row), so the link form can be prefilled with it.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('tenant_provider_configs')
    .addColumn('expected_phone', 'text')
    .addColumn('wrong_phone_masked', 'text')
    .execute()
  await db.schema
    .createTable('wa_last_linked_phones')
    .addColumn('tenant_id', 'text', (c) => c.primaryKey().references('tenants.id').onDelete('cascade'))
    .addColumn('phone', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull())
    .execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('wa_last_linked_phones').ifExists().execute()
  await db.schema.alterTable('tenant_provider_configs').dropColumn('wrong_phone_masked').dropColumn('expected_phone').execute()
}
