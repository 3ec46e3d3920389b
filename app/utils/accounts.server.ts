import { hashPassword } from '../../adapters/auth/scrypt-password-hasher'
import type { RoleChange } from '../../domain/ports/account-store'
import type { Role } from '../../domain/ports/user-directory'
import type { AuthServices } from './auth.server'

/**
 * Users and memberships: create, add to a tenant, change a role, reset a password. Each call is
 * the change and its audit entry, in one place, with the caller's actor (`operator:<os user>`
 * for `npm run ops -- users …`, the only caller today; a page gaining one of these calls it too).
 * Inputs are checked by the caller (e-mail normalised, password length, tenant and user exist).
 */
type Accounts = Pick<AuthServices, 'accounts' | 'audit'>

/** One success entry of an account change, with the caller's actor. */
function audited(
  auth: Accounts,
  actor: string,
  action: string,
  tenantId: string | null,
  details: Record<string, unknown>,
): Promise<void> {
  return auth.audit.append({ actor, tenantId, action, outcome: 'success', ip: null, details })
}

/** What the audit says about where a password came from (never the password). */
export type PasswordSource = 'generated' | 'provided'

export async function createUser(
  auth: Accounts,
  input: { email: string; name: string; password: string; passwordSource: PasswordSource; actor: string },
): Promise<{ id: string } | null> {
  const created = await auth.accounts.createUser({
    email: input.email,
    name: input.name.trim().slice(0, 200),
    passwordHash: await hashPassword(input.password),
  })
  if (!created) return null
  await audited(auth, input.actor, 'ops.user.create', null, {
    user_id: created.id,
    email: input.email,
    password: input.passwordSource,
  })
  return created
}

/** Makes an existing user a member of a tenant; false (nothing audited) when already one. */
export async function addMembership(
  auth: Accounts,
  input: { tenantId: string; user: { id: string; email: string }; role: Role; actor: string },
): Promise<boolean> {
  const added = await auth.accounts.addMembership({ tenantId: input.tenantId, userId: input.user.id, role: input.role })
  if (!added) return false
  await audited(auth, input.actor, 'ops.membership.add', input.tenantId, {
    user_id: input.user.id,
    email: input.user.email,
    role: input.role,
  })
  return true
}

/** Changes a member's role (never the last owner's); audited when it changed. */
export async function setMemberRole(
  auth: Accounts,
  input: { tenantId: string; user: { id: string; email: string }; role: Role; actor: string },
): Promise<RoleChange> {
  const change = await auth.accounts.setRole({ tenantId: input.tenantId, userId: input.user.id, role: input.role })
  if (change.kind !== 'changed') return change
  await audited(auth, input.actor, 'ops.membership.set_role', input.tenantId, {
    user_id: input.user.id,
    email: input.user.email,
    from: change.from,
    to: input.role,
  })
  return change
}

/**
 * Sets a new password and ends everything the old one could have handed out (browser sessions
 * and API tokens, in the same transaction); audited with the counts.
 */
export async function resetPassword(
  auth: Accounts,
  input: { user: { id: string; email: string }; password: string; passwordSource: PasswordSource; actor: string },
): Promise<{ sessions: number; tokens: number }> {
  const revoked = await auth.accounts.resetPassword(input.user.id, await hashPassword(input.password))
  await audited(auth, input.actor, 'ops.user.reset_password', null, {
    user_id: input.user.id,
    email: input.user.email,
    password: input.passwordSource,
    sessions_revoked: revoked.sessions,
    api_tokens_revoked: revoked.tokens,
  })
  return revoked
}
