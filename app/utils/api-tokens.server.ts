import type { AuthServices } from './auth.server'
import { audit } from './auth.server'
import { signAppToken } from './jwt.server'

/**
 * Mints an API token for a member of a tenant: signs it (HS256, JWT_SECRET), records its jti in
 * api_tokens (listed and revocable on /settings/api-tokens) and audits `auth.token.mint` — never
 * the token itself, which only the caller sees, once. The api-tokens page and `npm run token`
 * both mint through here; the caller has checked the membership.
 */
export async function mintApiToken(
  auth: Pick<AuthServices, 'env' | 'apiTokens' | 'audit'>,
  input: { tenantId: string; userId: string; name: string; ttlSeconds: number; actor: string; ip: string | null },
): Promise<{ token: string; jti: string; expiresAt: Date }> {
  const minted = await signAppToken(auth.env, { userId: input.userId, tenantId: input.tenantId, ttlSeconds: input.ttlSeconds })
  await auth.apiTokens.record({
    jti: minted.jti,
    tenantId: input.tenantId,
    userId: input.userId,
    name: input.name,
    expiresAt: minted.expiresAt,
  })
  await audit(auth, {
    actor: input.actor,
    tenantId: input.tenantId,
    action: 'auth.token.mint',
    outcome: 'success',
    ip: input.ip,
    details: { jti: minted.jti, user_id: input.userId, name: input.name, expires_at: minted.expiresAt.toISOString() },
  })
  return minted
}

/**
 * Revokes one of the tenant's API tokens by jti and audits `auth.token.revoke`, refused or not
 * (`jti: null`: the form sent no valid id). Returns whether a token was revoked.
 */
export async function revokeApiToken(
  auth: Pick<AuthServices, 'apiTokens' | 'audit'>,
  input: { tenantId: string; jti: string | null; actor: string; ip: string | null },
): Promise<boolean> {
  const done = input.jti ? await auth.apiTokens.revoke(input.tenantId, input.jti) : false
  await audit(auth, {
    actor: input.actor,
    tenantId: input.tenantId,
    action: 'auth.token.revoke',
    outcome: done ? 'success' : 'failure',
    ip: input.ip,
    details: input.jti ? { jti: input.jti } : { reason: 'invalid_jti' },
  })
  return done
}
