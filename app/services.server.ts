import { Kysely, PostgresDialect, sql } from 'kysely'
import pg from 'pg'
import type { Database } from '../db/schema'
import { parseEnv, type Env } from './utils/env.server'
// --- auth (issue 4) ---
import { buildAuthServices, type AuthServices } from './utils/auth.server'
// --- end auth ---

/**
 * The composition root: builds the pool, Kysely and every adapter once per process and hands
 * ready-made services to routes. Kept on globalThis so a dev rebuild reuses the same pool.
 */
export interface Services {
  env: Env
  db: Kysely<Database>
  pool: pg.Pool
  // --- auth (issue 4): sessions, JWT verifier, membership resolver, login throttle, audit ---
  auth: AuthServices
  // --- end auth ---
  /** Readiness: true when PostgreSQL answers within the timeout. */
  databaseReady(): Promise<boolean>
  close(): Promise<void>
}

function buildServices(): Services {
  const env = parseEnv()
  const pool = new pg.Pool({
    connectionString: env.DATABASE_URL,
    max: env.DATABASE_POOL_MAX,
    connectionTimeoutMillis: 2_000,
    idleTimeoutMillis: 30_000,
  })
  // A dropped connection must not crash the process; the next query reconnects.
  pool.on('error', () => {})
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) })
  return {
    env,
    db,
    pool,
    // --- auth (issue 4) ---
    auth: buildAuthServices(db, env),
    // --- end auth ---
    async databaseReady() {
      try {
        await Promise.race([
          sql`select 1`.execute(db),
          new Promise((_, reject) => setTimeout(() => reject(new Error('timeout')), 2_000)),
        ])
        return true
      } catch {
        return false
      }
    },
    async close() {
      await db.destroy()
    },
  }
}

const KEY = Symbol.for('whatsapp-pro.services')
type Holder = { [KEY]?: Services }

export function getServices(): Services {
  const holder = globalThis as Holder
  holder[KEY] ??= buildServices()
  return holder[KEY]
}

/** Called by the HTTP entry once, before listening: registers instances, returns extra routers. */
export async function bootServices(_opts: { port: number }): Promise<{ mode: string; routers: [] }> {
  const services = getServices()
  return { mode: services.env.GREENAPI_MODE, routers: [] }
}

export async function shutdownServices(): Promise<void> {
  const holder = globalThis as Holder
  const services = holder[KEY]
  delete holder[KEY]
  await services?.close()
}
