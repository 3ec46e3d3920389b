import { parseArgs } from 'node:util'
import { Kysely, PostgresDialect } from 'kysely'
import { createPgPool } from '../adapters/postgres/pg-pool'
import { KyselyApiTokenStore } from '../adapters/kysely/kysely-auth-api-tokens'
import { KyselyAuditLog } from '../adapters/kysely/kysely-audit-log'
import { parseTtl, signAppToken } from '../app/utils/jwt.server'
import { migrateToLatest } from '../db/migrate'
import type { Database } from '../db/schema'
import { seedDemoData } from '../db/seed'
import { runWhenMain, type CliIo } from './cli-io'
import { prepareSecrets, resolveDatabase } from './runtime'

/**
 * `npm run token -- --tenant macrea [--email admin@macrea.test] [--ttl 1h] [--name label]`
 *
 * Mints an HS256 API token with the same JWT_SECRET and database as `npm start` (starting the
 * embedded PostgreSQL for the command when it is not running), records its jti in api_tokens
 * (revocable on /settings/api-tokens) and prints the JWT ALONE on the last line of stdout.
 * Everything else goes to stderr. Unknown tenant or user → exit code 1 with a clear message.
 */
const TENANT_ID = /^[a-z0-9][a-z0-9_-]{0,62}$/
const MAX_TTL_SECONDS = 365 * 24 * 3600

class UsageError extends Error {}

function readArgs(argv: string[], note: (line: string) => void) {
  const { values } = parseArgs({
    args: argv,
    options: {
      tenant: { type: 'string' },
      email: { type: 'string' },
      ttl: { type: 'string', default: '1h' },
      name: { type: 'string', default: 'npm run token' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  })
  if (values.help) {
    note('Usage: npm run token -- --tenant <id> [--email <user e-mail>] [--ttl 1h|30m|7d] [--name <label>]')
    note('Default user: the tenant\'s first owner. The JWT is printed alone on the last line of stdout.')
    return 'help' as const
  }
  if (!values.tenant) throw new UsageError('Missing --tenant <id> (for example --tenant macrea).')
  if (!TENANT_ID.test(values.tenant)) throw new UsageError(`Invalid tenant id "${values.tenant.slice(0, 64)}": expected ^[a-z0-9][a-z0-9_-]{0,62}$.`)
  const ttlSeconds = parseTtl(values.ttl)
  if (!ttlSeconds || ttlSeconds > MAX_TTL_SECONDS) throw new UsageError(`Invalid --ttl "${values.ttl.slice(0, 16)}": use e.g. 30m, 1h, 7d (at most 365d).`)
  const name = values.name.trim().slice(0, 80) || 'npm run token'
  return { tenant: values.tenant, email: values.email?.trim().toLowerCase(), ttlSeconds, name }
}

/** Mints one token: `argv` is what follows `token` on the command line; returns the exit code. */
export async function runToken(argv: string[], io: CliIo): Promise<number> {
  const note = (line: string) => io.stderr(`${line}\n`)
  let args: Exclude<ReturnType<typeof readArgs>, 'help'>
  try {
    const read = readArgs(argv, note)
    if (read === 'help') return 0
    args = read
  } catch (e) {
    note(e instanceof Error ? e.message : String(e))
    return 2
  }
  const env = io.env ?? process.env
  const { demoPassword } = prepareSecrets(env)
  const secret = env.JWT_SECRET
  if (!secret || Buffer.byteLength(secret, 'utf8') < 32) {
    note('JWT_SECRET must be set and at least 32 bytes.')
    return 1
  }
  const database = await resolveDatabase(env)
  const pool = createPgPool({ connectionString: database.databaseUrl, max: 2 }) // a dropped client is not a failed mint
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) })
  try {
    // The embedded database may never have been started by `npm start`: bring it to the same
    // state (schema + demo data) first. An external DATABASE_URL is used as it is.
    if (database.embedded) {
      await migrateToLatest(db)
      if (env.NODE_ENV !== 'production') await seedDemoData(db, demoPassword)
    }
    const tenant = await db.selectFrom('tenants').select('id').where('id', '=', args.tenant).executeTakeFirst()
    if (!tenant) {
      note(`Unknown tenant "${args.tenant}".`)
      return 1
    }
    let query = db
      .selectFrom('memberships')
      .innerJoin('users', 'users.id', 'memberships.user_id')
      .select(['users.id', 'users.email', 'memberships.role'])
      .where('memberships.tenant_id', '=', args.tenant)
    query = args.email ? query.where('users.email', '=', args.email) : query.where('memberships.role', '=', 'owner')
    const user = await query.orderBy('memberships.created_at').orderBy('users.email').executeTakeFirst()
    if (!user) {
      note(
        args.email
          ? `Unknown user "${args.email}" for tenant "${args.tenant}" (no such user, or not a member of it).`
          : `Tenant "${args.tenant}" has no owner: pass --email <member e-mail>.`,
      )
      return 1
    }
    const minted = await signAppToken(
      { JWT_SECRET: secret, JWT_ISSUER: env.JWT_ISSUER, JWT_AUDIENCE: env.JWT_AUDIENCE },
      { userId: user.id, tenantId: args.tenant, ttlSeconds: args.ttlSeconds },
    )
    await new KyselyApiTokenStore(db).record({ jti: minted.jti, tenantId: args.tenant, userId: user.id, name: args.name, expiresAt: minted.expiresAt })
    await new KyselyAuditLog(db).append({
      actor: 'system:token-cli',
      tenantId: args.tenant,
      action: 'auth.token.mint',
      outcome: 'success',
      details: { jti: minted.jti, user_id: user.id, name: args.name, expires_at: minted.expiresAt.toISOString() },
    })
    note(`API token for ${user.email} (${user.role} of ${args.tenant}), jti ${minted.jti}, expires ${minted.expiresAt.toISOString()}.`)
    note('Use it as: Authorization: Bearer <token>  (revocable on /settings/api-tokens)')
    io.stdout(`${minted.token}\n`)
    return 0
  } catch (e) {
    note(`Token not minted: ${e instanceof Error ? e.message : String(e)}`)
    return 1
  } finally {
    await db.destroy().catch(() => {})
    await database.stop().catch(() => {})
  }
}

runWhenMain(import.meta.url, runToken)
