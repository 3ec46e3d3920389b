import { Kysely, PostgresDialect } from 'kysely'
import type pg from 'pg'
import type { Database } from '../../db/schema'
import { createPgPool } from '../postgres/pg-pool'

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
  // createPgPool: a client dropped by the server never crashes the process (decision 095).
  const pool = createPgPool({
    connectionString: databaseUrl,
    max: options.max ?? 10,
    acquireTimeoutMs: options.connectionTimeoutMillis ?? 2_000,
    idleTimeoutMs: options.idleTimeoutMillis ?? 30_000,
  })
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) })
  return { db, pool }
}
