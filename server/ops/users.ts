import { randomBytes } from 'node:crypto'
import { Option, type Command } from 'commander'
import type { Role } from '../../db/schema'
// The account use cases: each writes its change and its audit entry (actor `operator:<os user>`).
import { addMembership, createUser, resetPassword, setMemberRole } from '../../app/utils/accounts.server'
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
      const { auth } = await c.core()
      const row = await createUser(auth, {
        email,
        name: opts.name,
        password,
        passwordSource: generated ? 'generated' : 'provided',
        actor: c.actor,
      })
      if (!row) throw new OpsError(`User "${email}" already exists (to change the password: users reset-password ${email}).`)
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
      const { auth } = await c.core()
      const added = await addMembership(auth, { tenantId: tenant.id, user, role: opts.role, actor: c.actor })
      if (!added)
        throw new OpsError(`${user.email} is already a member of "${tenant.id}" (change the role with: users set-role).`)
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
      const { auth } = await c.core()
      const result = await setMemberRole(auth, { tenantId: tenant.id, user, role: opts.role, actor: c.actor })
      if (result.kind === 'not_member')
        throw new OpsError(`${user.email} is not a member of "${tenant.id}" (add it with: users add).`)
      if (result.kind === 'last_owner')
        throw new OpsError(`${user.email} is the last owner of "${tenant.id}": make someone else owner first.`)
      if (result.kind === 'same') {
        c.io.err(`${user.email} is already ${opts.role} of "${tenant.id}"; nothing changed.`)
        return
      }
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
      const { auth } = await c.core()
      // A reset means the old password may be known to someone else: everything it could have
      // handed out goes with it, in the same transaction — browser sessions AND API tokens (which
      // live up to 365 days). The api_tokens trigger tells running app processes (NOTIFY).
      const revoked = await resetPassword(auth, {
        user,
        password,
        passwordSource: generated ? 'generated' : 'provided',
        actor: c.actor,
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
