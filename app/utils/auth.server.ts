import { createHash } from 'node:crypto'
import { decodeJwt } from 'jose'
import type { Kysely } from 'kysely'
import { Authenticator } from 'remix-auth'
import { OAuth2Strategy } from 'remix-auth-oauth2'
import { Strategy } from 'remix-auth/strategy'
import { z } from 'zod'
import { dummyPasswordHash, verifyPassword } from '../../adapters/auth/scrypt-password-hasher'
import { KyselyAccountStore } from '../../adapters/kysely/kysely-account-store'
import { KyselyApiTokenStore } from '../../adapters/kysely/kysely-auth-api-tokens'
import { KyselySessionStore } from '../../adapters/kysely/kysely-auth-sessions'
import { KyselyAuditLog } from '../../adapters/kysely/kysely-audit-log'
import { KyselyOAuthStateStore } from '../../adapters/kysely/kysely-auth-support'
import { KyselyLoginThrottle } from '../../adapters/kysely/kysely-login-throttle'
import { KyselyMembershipResolver, KyselyUserDirectory } from '../../adapters/kysely/kysely-auth-users'
import type { Database } from '../../db/schema'
import type { AccountStore } from '../../domain/ports/account-store'
import type { ApiTokenStore } from '../../domain/ports/api-token-store'
import type { AuditEntry, AuditLog } from '../../domain/ports/audit-log'
import type { LoginThrottle, ThrottleRule } from '../../domain/ports/login-throttle'
import type { SessionStore } from '../../domain/ports/session-store'
import type { AuthUser, MembershipResolver, UserDirectory } from '../../domain/ports/user-directory'
import { appOrigin } from './csrf.server'
import type { Env } from './env.server'
import { createJwtVerifier, type JwtVerifier } from './jwt.server'
import { SESSION_POLICY, hostOnlyCookie } from './session.server'

/**
 * Everything sign-in and the guards need, built once by the composition root
 * (`buildCoreServices` in app/core-services.server.ts).
 */
export interface AuthServices {
  env: Pick<Env, 'JWT_SECRET' | 'JWT_ISSUER' | 'JWT_AUDIENCE' | 'PUBLIC_URL'>
  users: UserDirectory
  /** Writes to users and memberships (app/utils/accounts.server.ts). */
  accounts: AccountStore
  resolver: MembershipResolver
  sessions: SessionStore
  apiTokens: ApiTokenStore
  throttle: LoginThrottle
  oauthStates: KyselyOAuthStateStore
  audit: AuditLog
  verifyJwt: JwtVerifier
  oauth: OAuthConfig
}

/** Login throttling (docs/decisions/032, reworked in 080): see `loginRules`. */
const LOGIN_THROTTLE = {
  windowSeconds: 15 * 60,
  perAccountAndAddress: 5,
  perAddress: 20,
  /** Failures on the account from addresses it has not signed in from within knownAddressSeconds. */
  account: { windowSeconds: 24 * 3600, freeFailures: 5, baseDelaySeconds: 60, maxDelaySeconds: 15 * 60 },
  knownAddressSeconds: 30 * 24 * 3600,
} as const

/** OAuth `state` + PKCE verifier lifetime (single use, server-side bookkeeping). */
export const OAUTH_STATE_MAX_AGE_SECONDS = 600
export const OAUTH_STATE_COOKIE = '__Host-wa_oauth'
export const OAUTH_NEXT_COOKIE = '__Host-wa_oauth_next'
/** Where to go after an OAuth sign-in (a same-site path, checked again by `safeRedirect` on the way back). */
export const oauthNextCookie = hostOnlyCookie(OAUTH_NEXT_COOKIE, OAUTH_STATE_MAX_AGE_SECONDS)

/** Wrappers the server puts around two stores as they are built (its per-process caches). */
export interface AuthDecorators {
  resolver?: (inner: MembershipResolver) => MembershipResolver
  apiTokens?: (inner: ApiTokenStore) => ApiTokenStore
}

export function buildAuthServices(db: Kysely<Database>, env: Env, decorate: AuthDecorators = {}): AuthServices {
  const resolver = new KyselyMembershipResolver(db)
  const apiTokens = new KyselyApiTokenStore(db)
  return {
    env,
    users: new KyselyUserDirectory(db),
    accounts: new KyselyAccountStore(db),
    resolver: decorate.resolver ? decorate.resolver(resolver) : resolver,
    sessions: new KyselySessionStore(db, SESSION_POLICY),
    apiTokens: decorate.apiTokens ? decorate.apiTokens(apiTokens) : apiTokens,
    throttle: new KyselyLoginThrottle(db),
    oauthStates: new KyselyOAuthStateStore(db),
    audit: new KyselyAuditLog(db),
    verifyJwt: createJwtVerifier(env),
    oauth: oauthConfigOf(env),
  }
}

// ---------------------------------------------------------------------------------------------
// Small request helpers

export const sha256Hex = (value: string): string => createHash('sha256').update(value).digest('hex')

/** The client IP the HTTP shell put in the load context (`context.ip`, server/http-app.ts), if any. */
export function clientIp(context: unknown): string | null {
  const ip = (context as { ip?: unknown } | null | undefined)?.ip
  return typeof ip === 'string' && ip.length > 0 && ip.length <= 64 ? ip : null
}

/** Audit is best effort: a failed insert never turns a sign-in or a 403 into a 500. */
export async function audit(auth: Pick<AuthServices, 'audit'>, entry: AuditEntry): Promise<void> {
  try {
    await auth.audit.append(entry)
  } catch {
    process.stderr.write(`${JSON.stringify({ level: 'error', msg: 'audit append failed', action: entry.action })}\n`)
  }
}

// ---------------------------------------------------------------------------------------------
// Password sign-in (a tiny remix-auth v4 strategy: v4 ships no form strategy)

export class LoginFailure extends Error {
  constructor(
    readonly reason: 'invalid' | 'throttled',
    readonly retryAfterSeconds = 0,
  ) {
    super(reason)
  }
}

interface PasswordVerifyInput {
  email: string
  password: string
  request: Request
}

class PasswordStrategy extends Strategy<AuthUser, PasswordVerifyInput> {
  name = 'password'

  async authenticate(request: Request): Promise<AuthUser> {
    const form = await request.clone().formData()
    const email = String(form.get('email') ?? '')
      .trim()
      .toLowerCase()
    const password = String(form.get('password') ?? '')
    return this.verify({ email, password, request })
  }
}

/**
 * The counters one password attempt is charged to (docs/decisions/080), all reserved atomically
 * before the password is checked:
 * - this account from this address: 5 failures per 15 min, forgotten on success;
 * - this address, whatever the account: 20 failures per 15 min (password spraying);
 * - this account from addresses it has not signed in from lately: 5 free failures, then a
 *   progressive delay (1, 2, 4, 8 min, then one attempt per 15 min, for 24 h), so distributed
 *   guessing stays slow while the owner's own address is never locked by other people's failures.
 */
function loginRules(emailHash: string, ip: string | null, knownAddress: boolean): ThrottleRule[] {
  const { windowSeconds, perAccountAndAddress, perAddress, account } = LOGIN_THROTTLE
  const address = ip ?? 'unknown'
  const rules: ThrottleRule[] = [
    { key: `login:acct-ip:${emailHash}:${address}`, limit: perAccountAndAddress, windowSeconds, clearOnSuccess: true },
  ]
  if (ip) rules.push({ key: `login:ip:${ip}`, limit: perAddress, windowSeconds })
  if (!knownAddress) {
    rules.push({
      key: `login:acct:${emailHash}`,
      limit: Number.POSITIVE_INFINITY,
      windowSeconds: account.windowSeconds,
      delay: { freeFailures: account.freeFailures, baseSeconds: account.baseDelaySeconds, maxSeconds: account.maxDelaySeconds },
    })
  }
  return rules
}

/**
 * Checks an e-mail + password with the same work and the same answer whether or not the account
 * exists (dummy scrypt verify for unknown e-mails), after reserving the attempt on the throttle.
 */
async function verifyPasswordLogin(
  auth: AuthServices,
  input: { email: string; password: string; ip: string | null },
): Promise<AuthUser> {
  const emailHash = sha256Hex(input.email)
  const addressKey = input.ip ? sha256Hex(`${emailHash}|${input.ip}`) : null
  const known = addressKey ? await auth.throttle.isKnownAddress(addressKey, LOGIN_THROTTLE.knownAddressSeconds) : false
  const rules = loginRules(emailHash, input.ip, known)
  const reservation = await auth.throttle.reserve(rules)
  if (!reservation.allowed) {
    await audit(auth, {
      actor: 'anonymous',
      tenantId: null,
      action: 'auth.login',
      outcome: 'denied',
      ip: input.ip,
      details: { reason: 'throttled', email_hash: emailHash.slice(0, 16) },
    })
    throw new LoginFailure('throttled', reservation.retryAfterSeconds)
  }
  const wellFormed =
    input.email.length > 0 && input.email.length <= 254 && input.password.length > 0 && input.password.length <= 1024
  const user = wellFormed ? await auth.users.findByEmail(input.email) : null
  const hash = user?.passwordHash ?? (await dummyPasswordHash())
  const passwordOk = await verifyPassword(wellFormed ? input.password : 'x', hash)
  if (!user || !user.passwordHash || !passwordOk || !wellFormed) {
    // The reserved attempt stays counted: it was a failure.
    await audit(auth, {
      actor: user ? `user:${user.id}` : 'anonymous',
      tenantId: null,
      action: 'auth.login',
      outcome: 'failure',
      ip: input.ip,
      details: { method: 'password', reason: 'bad_credentials', email_hash: emailHash.slice(0, 16) },
    })
    throw new LoginFailure('invalid')
  }
  await auth.throttle.succeeded(rules)
  if (addressKey) await auth.throttle.rememberAddress(addressKey)
  return { id: user.id, email: user.email, name: user.name }
}

// ---------------------------------------------------------------------------------------------
// OAuth providers (remix-auth-oauth2 / arctic), shown only when configured

export type OAuthProviderId = 'google' | 'microsoft' | 'github'

export interface OAuthProviderConfig {
  id: OAuthProviderId
  label: string
  clientId: string
  clientSecret: string
  authorizationEndpoint: string
  tokenEndpoint: string
  scopes: string[]
}

export interface OAuthConfig {
  providers: OAuthProviderConfig[]
}

/** The providers configured in the env schema (OAUTH_*), in the order the login page lists them. */
function oauthConfigOf(env: Env): OAuthConfig {
  const providers: OAuthProviderConfig[] = []
  if (env.OAUTH_GOOGLE_CLIENT_ID && env.OAUTH_GOOGLE_CLIENT_SECRET) {
    providers.push({
      id: 'google',
      label: 'Google',
      clientId: env.OAUTH_GOOGLE_CLIENT_ID,
      clientSecret: env.OAUTH_GOOGLE_CLIENT_SECRET,
      authorizationEndpoint: 'https://accounts.google.com/o/oauth2/v2/auth',
      tokenEndpoint: 'https://oauth2.googleapis.com/token',
      scopes: ['openid', 'email', 'profile'],
    })
  }
  if (env.OAUTH_MICROSOFT_CLIENT_ID && env.OAUTH_MICROSOFT_CLIENT_SECRET) {
    const base = `https://login.microsoftonline.com/${env.OAUTH_MICROSOFT_TENANT}/oauth2/v2.0`
    providers.push({
      id: 'microsoft',
      label: 'Microsoft',
      clientId: env.OAUTH_MICROSOFT_CLIENT_ID,
      clientSecret: env.OAUTH_MICROSOFT_CLIENT_SECRET,
      authorizationEndpoint: `${base}/authorize`,
      tokenEndpoint: `${base}/token`,
      scopes: ['openid', 'email', 'profile'],
    })
  }
  if (env.OAUTH_GITHUB_CLIENT_ID && env.OAUTH_GITHUB_CLIENT_SECRET) {
    providers.push({
      id: 'github',
      label: 'GitHub',
      clientId: env.OAUTH_GITHUB_CLIENT_ID,
      clientSecret: env.OAUTH_GITHUB_CLIENT_SECRET,
      authorizationEndpoint: 'https://github.com/login/oauth/authorize',
      tokenEndpoint: 'https://github.com/login/oauth/access_token',
      scopes: ['read:user', 'user:email'],
    })
  }
  return { providers }
}

export class OAuthLoginFailure extends Error {
  constructor(readonly reason: 'unverified_email' | 'no_account' | 'provider_error') {
    super(reason)
  }
}

const UPSTREAM_TIMEOUT_MS = 5_000

async function getJson(url: string, accessToken: string): Promise<unknown> {
  const res = await fetch(url, {
    headers: { Authorization: `Bearer ${accessToken}`, Accept: 'application/json', 'User-Agent': 'whatsapp-pro' },
    signal: AbortSignal.timeout(UPSTREAM_TIMEOUT_MS),
  })
  if (!res.ok) throw new OAuthLoginFailure('provider_error')
  return res.json()
}

const GoogleUserInfo = z.object({
  email: z.string(),
  email_verified: z.union([z.boolean(), z.literal('true'), z.literal('false')]),
})
const GitHubEmails = z.array(z.object({ email: z.string(), verified: z.boolean(), primary: z.boolean() }))
const MicrosoftIdToken = z.object({
  email: z.string().optional(),
  xms_edov: z.union([z.boolean(), z.literal('1'), z.literal('true')]).optional(),
})

/**
 * The provider's e-mail for the signed-in account, and whether the provider vouches that it is
 * verified. Only verified addresses can link to a user (docs/decisions/033).
 */
async function providerEmail(
  provider: OAuthProviderId,
  tokens: { accessToken(): string; idToken(): string },
): Promise<{ email: string; verified: boolean }> {
  try {
    if (provider === 'google') {
      const info = GoogleUserInfo.parse(await getJson('https://openidconnect.googleapis.com/v1/userinfo', tokens.accessToken()))
      return { email: info.email, verified: info.email_verified === true || info.email_verified === 'true' }
    }
    if (provider === 'github') {
      const emails = GitHubEmails.parse(await getJson('https://api.github.com/user/emails', tokens.accessToken()))
      const primary = emails.find((e) => e.primary && e.verified)
      return primary ? { email: primary.email, verified: true } : { email: '', verified: false }
    }
    // Microsoft Entra: the ID token comes straight from the token endpoint over TLS (OIDC Core
    // 3.1.3.7); its `email` is only trusted with `xms_edov` (domain-owner verified).
    const claims = MicrosoftIdToken.parse(decodeJwt(tokens.idToken()))
    const verified = claims.xms_edov === true || claims.xms_edov === '1' || claims.xms_edov === 'true'
    return { email: claims.email ?? '', verified: verified && !!claims.email }
  } catch (error) {
    if (error instanceof OAuthLoginFailure) throw error
    throw new OAuthLoginFailure('provider_error')
  }
}

/**
 * A remix-auth Authenticator for this request: the password strategy plus one OAuth2 strategy per
 * configured provider (redirect URI on the app's own origin, state + PKCE in a `__Host-` cookie
 * of ≤ 10 minutes, single use enforced server-side by the callback route).
 */
export function authenticatorFor(auth: AuthServices, request: Request, ip: string | null): Authenticator<AuthUser> {
  const authenticator = new Authenticator<AuthUser>()
  authenticator.use(new PasswordStrategy(({ email, password }) => verifyPasswordLogin(auth, { email, password, ip })), 'password')
  const origin = appOrigin(request, auth.env.PUBLIC_URL)
  for (const p of auth.oauth.providers) {
    authenticator.use(
      new OAuth2Strategy<AuthUser>(
        {
          clientId: p.clientId,
          clientSecret: p.clientSecret,
          authorizationEndpoint: p.authorizationEndpoint,
          tokenEndpoint: p.tokenEndpoint,
          redirectURI: `${origin}/auth/${p.id}/callback`,
          scopes: p.scopes,
          cookie: {
            name: OAUTH_STATE_COOKIE,
            httpOnly: true,
            secure: true,
            sameSite: 'Lax',
            path: '/',
            maxAge: OAUTH_STATE_MAX_AGE_SECONDS,
          },
        },
        async ({ tokens }) => {
          const { email, verified } = await providerEmail(p.id, tokens)
          if (!verified || !email) throw new OAuthLoginFailure('unverified_email')
          const user = await auth.users.findByEmail(email.trim().toLowerCase())
          if (!user) throw new OAuthLoginFailure('no_account')
          return { id: user.id, email: user.email, name: user.name }
        },
      ) as unknown as Strategy<AuthUser, never>,
      p.id,
    )
  }
  return authenticator
}

export const isOAuthProvider = (auth: AuthServices, id: string | undefined): id is OAuthProviderId =>
  auth.oauth.providers.some((p) => p.id === id)
