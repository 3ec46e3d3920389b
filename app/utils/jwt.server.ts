import { randomUUID } from 'node:crypto'
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify, SignJWT, type JWTPayload } from 'jose'

/**
 * Bearer JWTs (docs/api.md#authentication): HS256 with JWT_SECRET's UTF-8 bytes, algorithms pinned per key,
 * `exp` and `sub` required, 30 s clock tolerance, optional issuer/audience, optional external
 * issuer through a JWKS URL (RS256/ES256 only). Every failure is the same `null` to the caller:
 * no oracle on why a token was refused.
 *
 * Every HS256 token must also carry `jti` (so it can be revoked) and `iat`, and live at most
 * 365 days (`exp − iat`). Those the app mints (API tokens page, `npm run token`) say so in their
 * header (`kid: "wa-app"`) and are an allow-list: accepted only while their `jti` is recorded
 * in api_tokens for that user and not revoked (`issuedByApp`). Tokens the CRM signs with the
 * shared secret, and the external issuer's, keep the deny-list of docs/api.md#authentication: their `jti`s are unknown
 * to the app by design (docs/decisions/081).
 */
const CLOCK_TOLERANCE_SECONDS = 30
/** The longest lifetime the app mints (settings.api-tokens, server/token.ts). */
const MAX_APP_TOKEN_LIFETIME_SECONDS = 365 * 24 * 3600
/** The header `kid` of tokens the app mints (signAppToken): they are checked against api_tokens. */
export const APP_TOKEN_KID = 'wa-app'
/** Longer tokens are refused before any parsing (a JWT here is a few hundred bytes). */
const MAX_TOKEN_LENGTH = 8 * 1024
const ASYMMETRIC_ALGS = ['RS256', 'ES256'] as const
const TENANT_ID = /^[a-z0-9][a-z0-9_-]{0,62}$/

export interface JwtConfig {
  JWT_SECRET: string
  JWT_ISSUER?: string | undefined
  JWT_AUDIENCE?: string | undefined
  JWT_JWKS_URL?: string | undefined
}

export interface VerifiedClaims {
  sub: string
  /** The token's default tenant (validated format), if it names one. */
  tenantId: string | null
  jti: string | null
  exp: number
  /** Minted by the app (header `kid: "wa-app"`), so its `jti` must be on the allow-list (api_tokens). */
  issuedByApp: boolean
}

export type JwtVerifier = (token: string) => Promise<VerifiedClaims | null>

const secretKey = (secret: string): Uint8Array => new TextEncoder().encode(secret)

export function createJwtVerifier(config: JwtConfig, options: { currentDate?: () => Date } = {}): JwtVerifier {
  const hsKey = secretKey(config.JWT_SECRET)
  const jwks = config.JWT_JWKS_URL ? createRemoteJWKSet(new URL(config.JWT_JWKS_URL)) : null
  const common = {
    requiredClaims: ['exp', 'sub'],
    clockTolerance: CLOCK_TOLERANCE_SECONDS,
    ...(config.JWT_ISSUER ? { issuer: config.JWT_ISSUER } : {}),
    ...(config.JWT_AUDIENCE ? { audience: config.JWT_AUDIENCE } : {}),
  }
  return async (token) => {
    if (!token || token.length > MAX_TOKEN_LENGTH) return null
    try {
      const header = decodeProtectedHeader(token)
      let payload: JWTPayload
      let issuedByApp = false
      // The key is chosen by the (untrusted) header, but each key only verifies its own pinned
      // algorithms, so switching `alg` can never make the HMAC secret verify an RS/ES token or
      // the reverse (RFC 8725 §3.1).
      if (header.alg === 'HS256') {
        payload = (
          await jwtVerify(token, hsKey, {
            ...common,
            requiredClaims: [...common.requiredClaims, 'iat', 'jti'],
            algorithms: ['HS256'],
            currentDate: options.currentDate?.(),
          })
        ).payload
        issuedByApp = header.kid === APP_TOKEN_KID
        // A stolen token must not be good forever: cap the lifetime it claims, and refuse one
        // "issued" in the future (that would stretch the cap).
        const now = Math.floor((options.currentDate?.() ?? new Date()).getTime() / 1000)
        const { iat, exp } = payload
        if (typeof iat !== 'number' || typeof exp !== 'number' || typeof payload.jti !== 'string') return null
        if (exp - iat > MAX_APP_TOKEN_LIFETIME_SECONDS || iat > now + CLOCK_TOLERANCE_SECONDS) return null
      } else if (jwks && (ASYMMETRIC_ALGS as readonly string[]).includes(header.alg ?? '')) {
        payload = (
          await jwtVerify(token, jwks, { ...common, algorithms: [...ASYMMETRIC_ALGS], currentDate: options.currentDate?.() })
        ).payload
      } else {
        return null
      }
      if (typeof payload.sub !== 'string' || payload.sub.length === 0 || typeof payload.exp !== 'number') return null
      const tenantClaim = payload.tenant_id
      if (tenantClaim !== undefined && (typeof tenantClaim !== 'string' || !TENANT_ID.test(tenantClaim))) return null
      if (payload.jti !== undefined && typeof payload.jti !== 'string') return null
      return { sub: payload.sub, tenantId: tenantClaim ?? null, jti: payload.jti ?? null, exp: payload.exp, issuedByApp }
    } catch {
      return null
    }
  }
}

/** Parses a duration such as `90s`, `15m`, `1h`, `30d` into seconds (null when malformed). */
export function parseTtl(value: string): number | null {
  const m = /^(\d{1,6})([smhd])$/.exec(value.trim())
  if (!m) return null
  const n = Number(m[1])
  const unit = { s: 1, m: 60, h: 3600, d: 86400 }[m[2] as 's' | 'm' | 'h' | 'd']
  const seconds = n * unit
  return seconds > 0 ? seconds : null
}

/** Signs an app token (HS256). The caller records `jti` in api_tokens so it can be revoked. */
export async function signAppToken(
  config: Pick<JwtConfig, 'JWT_SECRET' | 'JWT_ISSUER' | 'JWT_AUDIENCE'>,
  input: { userId: string; tenantId: string; ttlSeconds: number; jti?: string; now?: Date },
): Promise<{ token: string; jti: string; expiresAt: Date }> {
  const jti = input.jti ?? randomUUID()
  const iat = Math.floor((input.now ?? new Date()).getTime() / 1000)
  const exp = iat + input.ttlSeconds
  let jwt = new SignJWT({ tenant_id: input.tenantId })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT', kid: APP_TOKEN_KID })
    .setSubject(input.userId)
    .setJti(jti)
    .setIssuedAt(iat)
    .setExpirationTime(exp)
  if (config.JWT_ISSUER) jwt = jwt.setIssuer(config.JWT_ISSUER)
  if (config.JWT_AUDIENCE) jwt = jwt.setAudience(config.JWT_AUDIENCE)
  const token = await jwt.sign(secretKey(config.JWT_SECRET))
  return { token, jti, expiresAt: new Date(exp * 1000) }
}
