import { parseArgs } from 'node:util'
import { buildCoreServices, type CoreServices } from '../app/core-services.server'
import { mintApiToken } from '../app/utils/api-tokens.server'
import { parseEnv } from '../app/utils/env.server'
import { parseTtl } from '../app/utils/jwt.server'
import { createLogger } from '../app/utils/logger.server'
import { seedDemoData } from '../db/seed'
import { envOf, runWhenMain, type CliIo } from './cli-io'
import { openCommandDatabase, type CommandDatabase } from './database'
import { prepareSecrets, verifiedDemoPasswords } from './runtime'

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
    note("Default user: the tenant's first owner. The JWT is printed alone on the last line of stdout.")
    return 'help' as const
  }
  if (!values.tenant) throw new UsageError('Missing --tenant <id> (for example --tenant macrea).')
  if (!TENANT_ID.test(values.tenant))
    throw new UsageError(`Invalid tenant id "${values.tenant.slice(0, 64)}": expected ^[a-z0-9][a-z0-9_-]{0,62}$.`)
  const ttlSeconds = parseTtl(values.ttl)
  if (!ttlSeconds || ttlSeconds > MAX_TTL_SECONDS)
    throw new UsageError(`Invalid --ttl "${values.ttl.slice(0, 16)}": use e.g. 30m, 1h, 7d (at most 365d).`)
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
  const env = envOf(io)
  let demoPassword: string
  try {
    ;({ demoPassword } = prepareSecrets(env))
  } catch (e) {
    note(e instanceof Error ? e.message : String(e))
    return 1
  }
  let database: CommandDatabase
  try {
    database = await openCommandDatabase(env, 2)
  } catch (e) {
    note(`Token not minted: ${e instanceof Error ? e.message : String(e)}`)
    return 1
  }
  const { db } = database
  try {
    // An embedded database may never have been started by `npm start`: it also gets the demo data.
    if (database.embedded && env.NODE_ENV !== 'production') await seedDemoData(db, demoPassword, verifiedDemoPasswords(env))
    let core: CoreServices
    try {
      core = buildCoreServices(parseEnv(env), { db, logger: createLogger('warn', { write: (s: string) => io.stderr(s) }) })
    } catch (e) {
      note(e instanceof Error ? e.message : String(e))
      return 1
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
    const minted = await mintApiToken(core.auth, {
      tenantId: args.tenant,
      userId: user.id,
      name: args.name,
      ttlSeconds: args.ttlSeconds,
      actor: 'system:token-cli',
      ip: null,
    })
    note(
      `API token for ${user.email} (${user.role} of ${args.tenant}), jti ${minted.jti}, expires ${minted.expiresAt.toISOString()}.`,
    )
    note('Use it as: Authorization: Bearer <token>  (revocable on /settings/api-tokens)')
    io.stdout(`${minted.token}\n`)
    return 0
  } catch (e) {
    note(`Token not minted: ${e instanceof Error ? e.message : String(e)}`)
    return 1
  } finally {
    await database.close()
  }
}

runWhenMain(import.meta.url, runToken)
