import { Kysely, PostgresDialect } from 'kysely'
import { createPgPool } from '../adapters/postgres/pg-pool'
import { migrateToLatest } from '../db/migrate'
import type { Database } from '../db/schema'
import { resolveDatabase } from './runtime'

type EnvSource = Record<string, string | undefined>

/** A small pool for a process step that is not the server (a CLI command, start's migration). */
export function connectDatabase(databaseUrl: string, max: number): Kysely<Database> {
  // A client dropped when the embedded server stops at teardown (or by a failover mid-command)
  // is replaced or ignored by the pool: it must not fail a command that already printed its result.
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool: createPgPool({ connectionString: databaseUrl, max }) }) })
}

export interface CommandDatabase {
  db: Kysely<Database>
  /** True when this is the embedded PostgreSQL of .data (started for the command if it was not running). */
  embedded: boolean
  /** Closes the pool, then stops the embedded server if this command started it. */
  close(): Promise<void>
}

/**
 * The database of `npm run ops` / `npm run token`: the same as `npm start`'s (DATABASE_URL, or the
 * embedded PostgreSQL, brought to the latest schema since `npm start` may never have run).
 * An external DATABASE_URL is used as it is. Fills DATABASE_URL and the dev secrets into `env`.
 */
export async function openCommandDatabase(env: EnvSource, max: number): Promise<CommandDatabase> {
  const database = await resolveDatabase(env)
  const db = connectDatabase(database.databaseUrl, max)
  const close = async () => {
    await db.destroy().catch(() => {})
    await database.stop().catch(() => {})
  }
  try {
    if (database.embedded) await migrateToLatest(db, database.directUrl)
  } catch (e) {
    await close()
    throw e
  }
  return { db, embedded: database.embedded, close }
}
