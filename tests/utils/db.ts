import { Kysely, PostgresDialect } from 'kysely'
import pg from 'pg'
import type { Database } from '../../db/schema'

let db: Kysely<Database> | undefined

/** The test file's own migrated database (see tests/setup/db-setup.ts). */
export function testDb(): Kysely<Database> {
  if (!db) {
    const url = process.env.DATABASE_URL
    if (!url || !/\/app_test_[^/]+$/.test(url)) throw new Error('testDb() needs the per-file test database (DATABASE_URL)')
    db = new Kysely<Database>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: url, max: 5 }) }) })
  }
  return db
}

/** A second, independent connection pool: simulates another app process. */
export function otherProcessDb(): Kysely<Database> {
  return new Kysely<Database>({
    dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 5 }) }),
  })
}
