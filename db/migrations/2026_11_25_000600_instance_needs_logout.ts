import type { Kysely } from 'kysely'

// Frozen in time. An instance released while its phone may still be linked upstream (logout
// failed during a disconnect) is quarantined: the next claimer must log it out first.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('wa_instances')
    .addColumn('needs_logout', 'boolean', (c) => c.notNull().defaultTo(false))
    .execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('wa_instances').dropColumn('needs_logout').execute()
}
