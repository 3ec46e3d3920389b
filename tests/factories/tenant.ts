import type { Kysely } from 'kysely'
import type { Database, Role } from '../../db/schema'
import { testDb } from '../utils/db'
import { uniqueSuffix } from './unique'

export interface TenantFixture {
  id: string
  name: string
}

/** A tenant with its `tenant_features` row. Unique id per call. */
export async function createTenant(
  opts: {
    whatsappEnabled?: boolean
    smsEnabled?: boolean
    emailEnabled?: boolean
    withFeatures?: boolean
    db?: Kysely<Database>
  } = {},
): Promise<TenantFixture> {
  const db = opts.db ?? testDb()
  const id = `t-${uniqueSuffix()}`
  const name = `Tenant ${id}`
  await db.insertInto('tenants').values({ id, name }).execute()
  if (opts.withFeatures !== false) {
    await db
      .insertInto('tenant_features')
      .values({
        tenant_id: id,
        whatsapp_enabled: opts.whatsappEnabled ?? false,
        sms_enabled: opts.smsEnabled ?? true,
        email_enabled: opts.emailEnabled ?? true,
      })
      .execute()
  }
  return { id, name }
}

export interface UserFixture {
  id: string
  email: string
}

/** A user (no password: tests that log in set one through the auth adapters). */
export async function createUser(opts: { email?: string; name?: string; db?: Kysely<Database> } = {}): Promise<UserFixture> {
  const db = opts.db ?? testDb()
  const email = opts.email ?? `user-${uniqueSuffix()}@example.test`
  const row = await db
    .insertInto('users')
    .values({ email, name: opts.name ?? 'Test User', password_hash: null })
    .returning(['id', 'email'])
    .executeTakeFirstOrThrow()
  return { id: row.id, email: row.email }
}

export async function addMember(
  tenant: { id: string },
  user: { id: string },
  role: Role = 'member',
  db: Kysely<Database> = testDb(),
): Promise<void> {
  await db.insertInto('memberships').values({ tenant_id: tenant.id, user_id: user.id, role }).execute()
}
