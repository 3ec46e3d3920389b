import { Kysely, PostgresDialect } from 'kysely'
import pg from 'pg'
import type { Database } from '../../db/schema'

let db: Kysely<Database> | undefined

/** The test file's own migrated database (see tests/setup/db-setup.ts). */
export function testDb(): Kysely<Database> {
  if (!db) {
    const url = process.env.DATABASE_URL
    if (!url || !/\/app_test_[^/]+$/.test(url)) throw new Error('testDb() needs the per-file test database (DATABASE_URL)')
    db = new Kysely<Database>({ dialect: new PostgresDialect({ pool: quietPool(url) }) })
  }
  return db
}

/** A second, independent connection pool: simulates another app process. */
export function otherProcessDb(): Kysely<Database> {
  return new Kysely<Database>({
    dialect: new PostgresDialect({ pool: quietPool(process.env.DATABASE_URL) }),
  })
}

/**
 * A test-side pool whose idle clients may be terminated by the test itself (tests that kill the
 * database's backends): a dropped idle client is replaced on next use, not an unhandled error.
 */
function quietPool(connectionString: string | undefined): pg.Pool {
  const pool = new pg.Pool({ connectionString, max: 5 })
  pool.on('error', () => {})
  return pool
}

/** A `wa_cache` message (the cache trigger's NOTIFY payload). */
export interface CacheMessage {
  k?: string
  id?: string
}

/**
 * Listens to `wa_cache` on a connection of its own: `seen` collects the messages about `id`, in
 * commit order. `close` ends the connection.
 */
export async function listenToCache(id: string): Promise<{ seen: CacheMessage[]; close: () => Promise<void> }> {
  const client = new pg.Client({ connectionString: process.env.DATABASE_URL })
  await client.connect()
  const seen: CacheMessage[] = []
  client.on('notification', (n) => {
    const m = JSON.parse(n.payload ?? 'null') as CacheMessage
    if (m.id === id) seen.push(m)
  })
  await client.query('LISTEN wa_cache')
  return { seen, close: () => client.end() }
}
