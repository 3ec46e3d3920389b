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
 * Which stored password hashes were already verified against the demo password, so a restart
 * does not pay scrypt again (one verification costs ≈ 0.1 s of CPU). Keyed by the stored hash
 * itself: a hash changed since (an operator's password reset) is verified again.
 */
export interface VerifiedDemoPasswords {
  has(email: string, passwordHash: string, password: string): boolean
  add(email: string, passwordHash: string, password: string): void
}

/**
 * Demo data, idempotent: running it twice changes nothing. Feature flags are only set when the
 * tenant is created, so an operator's later change survives restarts. A password is rewritten
 * only when it no longer matches `password` (DEMO_PASSWORD changed); with `verified`, a hash
 * already checked by an earlier run is not verified again.
 */
export async function seedDemoData(db: Kysely<Database>, password: string, verified?: VerifiedDemoPasswords): Promise<void> {
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
      const hash = await hashPassword(password)
      const row = await db
        .insertInto('users')
        .values({ email: u.email, name: u.name, password_hash: hash })
        .onConflict((oc) => oc.column('email').doNothing())
        .returning('id')
        .executeTakeFirst()
      userId = row?.id
      if (row) verified?.add(u.email, hash, password)
    } else if (existing.password_hash && verified?.has(u.email, existing.password_hash, password)) {
      // checked by an earlier run, and unchanged since
    } else if (existing.password_hash && (await verifyPassword(password, existing.password_hash))) {
      verified?.add(u.email, existing.password_hash, password)
    } else {
      const hash = await hashPassword(password)
      await db.updateTable('users').set({ password_hash: hash }).where('id', '=', existing.id).execute()
      verified?.add(u.email, hash, password)
    }
    if (!userId) continue
    await db
      .insertInto('memberships')
      .values({ tenant_id: u.tenantId, user_id: userId, role: u.role })
      .onConflict((oc) => oc.columns(['tenant_id', 'user_id']).doNothing())
      .execute()
  }
}
