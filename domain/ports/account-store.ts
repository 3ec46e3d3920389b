import type { Role } from './user-directory'

export type RoleChange =
  | { kind: 'changed'; from: Role }
  | { kind: 'same' }
  | { kind: 'not_member' }
  /** The user is the tenant's last owner: demoting them would leave the tenant ownerless. */
  | { kind: 'last_owner' }

/**
 * Writes to users and memberships (operators today: `npm run ops -- users …`). Each method is
 * one atomic change; the caller audits it (app/utils/accounts.server.ts). `passwordHash` is a
 * scrypt hash, never a password.
 */
export interface AccountStore {
  /**
   * Creates a user; null when the e-mail (lower-cased by the caller) is taken.
   *
   * @example
   * const created = await accounts.createUser({ email: 'ana@example.test', name: 'Ana', passwordHash })
   */
  createUser(input: { email: string; name: string; passwordHash: string }): Promise<{ id: string } | null>
  /** Adds a membership; false when the user is already a member of the tenant. */
  addMembership(input: { tenantId: string; userId: string; role: Role }): Promise<boolean>
  /** Changes a member's role, under row locks, refusing to demote the tenant's last owner. */
  setRole(input: { tenantId: string; userId: string; role: Role }): Promise<RoleChange>
  /**
   * Sets the password hash and, in the same transaction, revokes every live browser session and
   * API token of the user (the old password may be known to someone else). Returns the counts.
   */
  resetPassword(userId: string, passwordHash: string): Promise<{ sessions: number; tokens: number }>
}
