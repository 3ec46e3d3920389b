import fs from 'node:fs'
import path from 'node:path'
import { sql } from 'kysely'
import { afterAll, describe, expect, it } from 'vitest'
import { migrateAllDown, migrateToLatest } from '../../db/migrate'
import { migrations } from '../../db/migrations/index'
import { DEMO_USERS, seedDemoData } from '../../db/seed'
import { testDb } from '../utils/db'

const db = testDb()
afterAll(() => db.destroy())

async function tables(): Promise<string[]> {
  const r = await sql<{ tablename: string }>`select tablename from pg_tables where schemaname = 'public' order by 1`.execute(db)
  return r.rows.map((x) => x.tablename).filter((t) => !t.startsWith('kysely_'))
}

describe('migrations', () => {
  it('are all in the static index the compiled server carries', () => {
    const files = fs
      .readdirSync(path.resolve(__dirname, '../../db/migrations'))
      .filter((f) => /^\d{4}_.*\.ts$/.test(f))
      .map((f) => f.replace(/\.ts$/, ''))
      .sort()
    expect(files.length).toBeGreaterThan(0)
    expect(Object.keys(migrations).sort()).toEqual(files)
  })

  it('go up, down and up again on a real database', async () => {
    const before = await tables()
    expect(before).toEqual(expect.arrayContaining(['tenants', 'tenant_features', 'tenant_provider_configs', 'audit_log']))
    await migrateAllDown(db)
    expect(await tables()).toEqual([])
    await migrateToLatest(db, process.env.DATABASE_URL!)
    expect(await tables()).toEqual(before)
  })
})

describe('demo seed', () => {
  it('is idempotent and keeps operator changes to feature flags', async () => {
    await seedDemoData(db, 'first-password-123')
    await db.updateTable('tenant_features').set({ whatsapp_enabled: false }).where('tenant_id', '=', 'macrea').execute()
    const countsBefore = await Promise.all(
      (['tenants', 'users', 'memberships', 'tenant_features'] as const).map((t) =>
        db.selectFrom(t).select(db.fn.countAll<string>().as('n')).executeTakeFirstOrThrow(),
      ),
    )
    await seedDemoData(db, 'first-password-123')
    const countsAfter = await Promise.all(
      (['tenants', 'users', 'memberships', 'tenant_features'] as const).map((t) =>
        db.selectFrom(t).select(db.fn.countAll<string>().as('n')).executeTakeFirstOrThrow(),
      ),
    )
    expect(countsAfter).toEqual(countsBefore)
    const flags = await db.selectFrom('tenant_features').selectAll().where('tenant_id', '=', 'macrea').executeTakeFirstOrThrow()
    expect(flags.whatsapp_enabled).toBe(false)
    const blocked = await db
      .selectFrom('tenant_features')
      .selectAll()
      .where('tenant_id', '=', 'test_tenant_blocked')
      .executeTakeFirstOrThrow()
    expect(blocked.whatsapp_enabled).toBe(false)
    const roles = await db
      .selectFrom('memberships')
      .innerJoin('users', 'users.id', 'memberships.user_id')
      .select(['users.email', 'memberships.role', 'memberships.tenant_id'])
      .execute()
    for (const u of DEMO_USERS) expect(roles).toContainEqual({ email: u.email, role: u.role, tenant_id: u.tenantId })
  })

  it('stores passwords as scrypt hashes, never in clear', async () => {
    await seedDemoData(db, 'canary-password-XYZ')
    const rows = await db.selectFrom('users').select('password_hash').execute()
    for (const r of rows) {
      expect(r.password_hash).toMatch(/^scrypt\$/)
      expect(r.password_hash).not.toContain('canary-password-XYZ')
    }
  })
})
