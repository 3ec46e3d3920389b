import type { Kysely } from 'kysely'
import { hashPassword, verifyPassword } from '../adapters/auth/scrypt-password-hasher'
import type { Database, Role } from './schema'

const DEMO_TENANTS = [
  { id: 'macrea', name: 'Macrea', whatsappEnabled: true },
  { id: 'test_tenant_blocked', name: 'Test tenant (WhatsApp disabled)', whatsappEnabled: false },
] as const

export const DEMO_USERS: ReadonlyArray<{ email: string; name: string; tenantId: string; role: Role }> = [
  { email: 'admin@macrea.test', name: 'Admin Macrea', tenantId: 'macrea', role: 'owner' },
  { email: 'member@macrea.test', name: 'Member Macrea', tenantId: 'macrea', role: 'member' },
  { email: 'admin@blocked.test', name: 'Admin Blocked', tenantId: 'test_tenant_blocked', role: 'owner' },
]

/**
 * Demo data, idempotent: running it twice changes nothing. Feature flags are only set when the
 * tenant is created, so an operator's later change survives restarts. A password is rewritten
 * only when it no longer matches `password` (DEMO_PASSWORD changed).
 */
export async function seedDemoData(db: Kysely<Database>, password: string): Promise<void> {
  for (const t of DEMO_TENANTS) {
    const inserted = await db
      .insertInto('tenants')
      .values({ id: t.id, name: t.name })
      .onConflict((oc) => oc.column('id').doNothing())
      .returning('id')
      .executeTakeFirst()
    if (inserted) {
      await db
        .insertInto('tenant_features')
        .values({ tenant_id: t.id, whatsapp_enabled: t.whatsappEnabled })
        .onConflict((oc) => oc.column('tenant_id').doNothing())
        .execute()
    }
  }
  for (const u of DEMO_USERS) {
    const existing = await db.selectFrom('users').select(['id', 'password_hash']).where('email', '=', u.email).executeTakeFirst()
    let userId = existing?.id
    if (!existing) {
      const row = await db
        .insertInto('users')
        .values({ email: u.email, name: u.name, password_hash: await hashPassword(password) })
        .onConflict((oc) => oc.column('email').doNothing())
        .returning('id')
        .executeTakeFirst()
      userId = row?.id
    } else if (!existing.password_hash || !(await verifyPassword(password, existing.password_hash))) {
      await db.updateTable('users').set({ password_hash: await hashPassword(password) }).where('id', '=', existing.id).execute()
    }
    if (!userId) continue
    await db
      .insertInto('memberships')
      .values({ tenant_id: u.tenantId, user_id: userId, role: u.role })
      .onConflict((oc) => oc.columns(['tenant_id', 'user_id']).doNothing())
      .execute()
  }
}
