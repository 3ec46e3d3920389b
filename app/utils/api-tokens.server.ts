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
