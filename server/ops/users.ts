import { randomBytes } from 'node:crypto'
import { Option, type Command } from 'commander'
import { sql } from 'kysely'
import type { Role } from '../../db/schema'

const hashPassword = async (password: string) =>
  (await import('../../adapters/auth/scrypt-password-hasher')).hashPassword(password)
import { OpsError, normalizeEmail, printRows, readSecretFromStdin, type OpsContext } from './context'

const ROLES = ['owner', 'admin', 'member'] as const
const MIN_PASSWORD = 12
const MAX_PASSWORD = 1024

const roleOption = () => new Option('--role <role>', 'role in the tenant').choices(ROLES).makeOptionMandatory()

interface PasswordOpts {
  password?: string
  passwordStdin?: boolean
}

/**
 * The password to set: from stdin (preferred), from --password (lands in shell history: warned),
 * or generated (printed ONCE on stdout, with a warning on stderr).
 */
async function choosePassword(c: OpsContext, opts: PasswordOpts): Promise<{ password: string; generated: boolean }> {
  if (opts.password !== undefined && opts.passwordStdin)
    throw new OpsError('Use either --password or --password-stdin, not both.', 2)
  let password: string | undefined
  if (opts.passwordStdin) password = await readSecretFromStdin(c, 'password')
  else if (opts.password !== undefined) {
    password = opts.password
    c.io.err('Note: --password is visible in shell history and process lists; prefer --password-stdin.')
  }
  if (password === undefined) return { password: randomBytes(15).toString('base64url'), generated: true }
  if (password.length < MIN_PASSWORD) throw new OpsError(`Password too short: at least ${MIN_PASSWORD} characters.`, 2)
  if (password.length > MAX_PASSWORD) throw new OpsError(`Password too long: at most ${MAX_PASSWORD} characters.`, 2)
  return { password, generated: false }
}

function printGenerated(c: OpsContext, email: string, password: string): void {
  c.io.err(
    `SECRET: the next line is the generated password for ${email}. It is shown once and not stored in clear; hand it over securely.`,
  )
  c.io.out(password)
}

export function registerUserCommands(program: Command, ctx: () => OpsContext): void {
  const users = program.command('users').description('Create users, add them to tenants, set roles, reset passwords')

  users
    .command('create <email>')
    .description('Create a user with a password (generated and printed once unless given)')
    .option('--name <name>', 'display name', '')
    .option('--password <password>', 'initial password (visible in shell history; prefer --password-stdin)')
    .option('--password-stdin', 'read the initial password from the first line of stdin')
    .action(async (emailArg: string, opts: PasswordOpts & { name: string }) => {
      const c = ctx()
      const email = normalizeEmail(emailArg)
      const { password, generated } = await choosePassword(c, opts)
      const db = await c.db()
      const row = await db
        .insertInto('users')
        .values({ email, name: opts.name.trim().slice(0, 200), password_hash: await hashPassword(password) })
        .onConflict((oc) => oc.column('email').doNothing())
        .returning('id')
        .executeTakeFirst()
      if (!row) throw new OpsError(`User "${email}" already exists (to change the password: users reset-password ${email}).`)
      await c.audit({
        action: 'ops.user.create',
        details: { user_id: row.id, email, password: generated ? 'generated' : 'provided' },
      })
      c.io.err(`User ${email} created (id ${row.id}). Add it to a tenant with: users add ${email} --tenant <id> --role member`)
      if (generated) printGenerated(c, email, password)
    })

  users
    .command('add <email>')
    .description('Make an existing user a member of a tenant with a role')
    .requiredOption('--tenant <id>', 'tenant id')
    .addOption(roleOption())
    .action(async (emailArg: string, opts: { tenant: string; role: Role }) => {
      const c = ctx()
      const tenant = await c.requireTenant(opts.tenant)
      const user = await c.requireUser(emailArg)
      const db = await c.db()
      const row = await db
        .insertInto('memberships')
        .values({ tenant_id: tenant.id, user_id: user.id, role: opts.role })
        .onConflict((oc) => oc.columns(['tenant_id', 'user_id']).doNothing())
        .returning('role')
        .executeTakeFirst()
      if (!row) throw new OpsError(`${user.email} is already a member of "${tenant.id}" (change the role with: users set-role).`)
      await c.audit({
        action: 'ops.membership.add',
        tenantId: tenant.id,
        details: { user_id: user.id, email: user.email, role: opts.role },
      })
      c.io.err(`${user.email} is now ${opts.role} of "${tenant.id}".`)
    })

  users
    .command('set-role <email>')
    .description("Change a member's role (the last owner of a tenant cannot be demoted)")
    .requiredOption('--tenant <id>', 'tenant id')
    .addOption(roleOption())
    .action(async (emailArg: string, opts: { tenant: string; role: Role }) => {
      const c = ctx()
      const tenant = await c.requireTenant(opts.tenant)
      const user = await c.requireUser(emailArg)
      const db = await c.db()
      const result = await db.transaction().execute(async (trx) => {
        const current = await trx
          .selectFrom('memberships')
          .select('role')
          .where('tenant_id', '=', tenant.id)
          .where('user_id', '=', user.id)
          .forUpdate()
          .executeTakeFirst()
        if (!current) return { kind: 'not_member' as const }
        if (current.role === opts.role) return { kind: 'same' as const }
        if (current.role === 'owner') {
          const owners = await trx
            .selectFrom('memberships')
            .select('user_id')
            .where('tenant_id', '=', tenant.id)
            .where('role', '=', 'owner')
            .forUpdate()
            .execute()
          if (owners.length <= 1) return { kind: 'last_owner' as const }
        }
        await trx
          .updateTable('memberships')
          .set({ role: opts.role })
          .where('tenant_id', '=', tenant.id)
          .where('user_id', '=', user.id)
          .execute()
        return { kind: 'changed' as const, from: current.role }
      })
      if (result.kind === 'not_member')
        throw new OpsError(`${user.email} is not a member of "${tenant.id}" (add it with: users add).`)
      if (result.kind === 'last_owner')
        throw new OpsError(`${user.email} is the last owner of "${tenant.id}": make someone else owner first.`)
      if (result.kind === 'same') {
        c.io.err(`${user.email} is already ${opts.role} of "${tenant.id}"; nothing changed.`)
        return
      }
      await c.audit({
        action: 'ops.membership.set_role',
        tenantId: tenant.id,
        details: { user_id: user.id, email: user.email, from: result.from, to: opts.role },
      })
      c.io.err(`${user.email}: ${result.from} → ${opts.role} in "${tenant.id}".`)
    })

  users
    .command('reset-password <email>')
    .description(
      "Set a new password (generated and printed once unless given), end the user's sessions and revoke their API tokens",
    )
    .option('--password <password>', 'new password (visible in shell history; prefer --password-stdin)')
    .option('--password-stdin', 'read the new password from the first line of stdin')
    .action(async (emailArg: string, opts: PasswordOpts) => {
      const c = ctx()
      const user = await c.requireUser(emailArg)
      const { password, generated } = await choosePassword(c, opts)
      const db = await c.db()
      const hash = await hashPassword(password)
      // A reset means the old password may be known to someone else: everything it could have
      // handed out goes with it, in the same transaction — browser sessions AND API tokens (which
      // live up to 365 days). The api_tokens trigger tells running app processes (NOTIFY).
      const revoked = await db.transaction().execute(async (trx) => {
        await trx.updateTable('users').set({ password_hash: hash }).where('id', '=', user.id).execute()
        const sessions = await trx
          .updateTable('sessions')
          .set({ revoked_at: sql<Date>`now()` })
          .where('user_id', '=', user.id)
          .where('revoked_at', 'is', null)
          .executeTakeFirst()
        const tokens = await trx
          .updateTable('api_tokens')
          .set({ revoked_at: sql<Date>`now()` })
          .where('user_id', '=', user.id)
          .where('revoked_at', 'is', null)
          .executeTakeFirst()
        return { sessions: Number(sessions.numUpdatedRows), tokens: Number(tokens.numUpdatedRows) }
      })
      await c.audit({
        action: 'ops.user.reset_password',
        details: {
          user_id: user.id,
          email: user.email,
          password: generated ? 'generated' : 'provided',
          sessions_revoked: revoked.sessions,
          api_tokens_revoked: revoked.tokens,
        },
      })
      c.io.err(`Password of ${user.email} reset; ${revoked.sessions} session(s) ended, ${revoked.tokens} API token(s) revoked.`)
      if (generated) printGenerated(c, user.email, password)
    })

  users
    .command('list')
    .description('List users and their memberships')
    .option('--tenant <id>', 'only members of this tenant')
    .option('--json', 'print JSON')
    .action(async (opts: { tenant?: string; json?: boolean }) => {
      const c = ctx()
      if (opts.tenant) await c.requireTenant(opts.tenant)
      const db = await c.db()
      let q = db
        .selectFrom('users as u')
        .leftJoin('memberships as m', 'm.user_id', 'u.id')
        .select(['u.email', 'u.name', 'm.tenant_id', 'm.role', 'u.created_at'])
        .orderBy('u.email')
        .orderBy('m.tenant_id')
      if (opts.tenant) q = q.where('m.tenant_id', '=', opts.tenant)
      const rows = (await q.execute()).map((r) => ({
        email: r.email,
        name: r.name,
        tenant: r.tenant_id,
        role: r.role,
        created: r.created_at instanceof Date ? r.created_at.toISOString() : String(r.created_at),
      }))
      printRows(c, rows, ['email', 'name', 'tenant', 'role', 'created'], { json: opts.json, empty: 'No user.' })
    })
}
