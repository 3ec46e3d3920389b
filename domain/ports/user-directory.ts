export type Role = 'owner' | 'admin' | 'member'

export interface AuthUser {
  id: string
  email: string
  name: string
}

/** A user with the password hash needed by the password strategy (never leaves the auth code). */
export interface UserCredentials extends AuthUser {
  passwordHash: string | null
}

export interface Membership {
  tenantId: string
  role: Role
}

/** What one guard query answers about a principal for one request. */
export interface PrincipalResolution {
  /** The user in `sub` (or the session) exists. */
  userExists: boolean
  /** The token's `jti` is on the deny-list (app-minted and revoked). */
  revoked: boolean
  /**
   * Tenant an app-minted token is bound to (`api_tokens.tenant_id`); null when the jti is not
   * recorded for this user (then an HS256 token is refused: the allow-list).
   */
  tokenTenantId: string | null
  /** When the app-minted token was last used (null: never, or not app-minted). */
  tokenLastUsedAt: Date | null
  /** The membership in the requested tenant, or the first membership when none was requested. */
  membership: Membership | null
}

/**
 * Membership and revocation facts for the guards, in ONE round trip. Kept behind an interface so
 * a per-process cache (invalidated by LISTEN/NOTIFY) can wrap it without touching the guards.
 */
export interface MembershipResolver {
  /**
   * @example
   * const r = await resolver.resolve({ userId, tenantId: 'macrea', jti })
   * if (!r.membership) throw tenantForbidden()
   */
  resolve(input: { userId: string; tenantId: string | null; jti: string | null }): Promise<PrincipalResolution>
}

export interface UserDirectory {
  /** Lookup by e-mail (lower-cased by the caller). */
  findByEmail(email: string): Promise<UserCredentials | null>
  findById(id: string): Promise<AuthUser | null>
  /** All memberships of a user, oldest first (the first one is the default tenant). */
  memberships(userId: string): Promise<Membership[]>
}
