import { Kysely, PostgresDialect } from 'kysely'
import pg from 'pg'
import type { Database } from '../../db/schema'

/**
 * One pool + one Kysely per process (never per request). The caller owns both:
 * `await db.destroy()` ends the pool.
 *
 * @example
 * const { db, pool } = createDb(process.env.DATABASE_URL!, { max: 10 })
 */
export function createDb(
  databaseUrl: string,
  options: { max?: number; connectionTimeoutMillis?: number; idleTimeoutMillis?: number } = {},
): { db: Kysely<Database>; pool: pg.Pool } {
  const pool = new pg.Pool({
    connectionString: databaseUrl,
    max: options.max ?? 10,
    connectionTimeoutMillis: options.connectionTimeoutMillis ?? 2_000,
    idleTimeoutMillis: options.idleTimeoutMillis ?? 30_000,
  })
  // An idle client dropped by the server must not crash the process; the next query reconnects.
  pool.on('error', () => {})
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) })
  return { db, pool }
}
