import { redirect } from '@remix-run/node'
import { API_TOKEN_TOUCH_INTERVAL_SECONDS } from '../../domain/ports/api-token-store'
import type { Role } from '../../domain/ports/user-directory'
import { TENANT_ID_PATTERN, type Actor } from '../../domain/whatsapp'
import { getServices } from '../services.server'
import { audit, clientIp, type AuthServices } from './auth.server'
import { appOrigin, isSameOriginRequest } from './csrf.server'
import { csrfRejected, forbiddenRole, invalidRequest, tenantForbidden, unauthenticated } from './http-errors.server'
import { getLiveSession } from './session.server'
import { loginUrl } from './safe-redirect'

/**
 * Who is calling, in one step (STYLE habit 9). API routes:
 *
 *   const caller = await requireApiContext(request, { mutating: true, context })
 *   await someUseCase(services.whatsapp, { tenantId: caller.tenantId, actor: caller.actor, ip: caller.ip })
 *
 * `identifyCaller` reads the credential (a Bearer JWT, else the session cookie, which must also
 * be same-origin for unsafe methods), resolves the tenant (X-Tenant, else the token's tenant_id,
 * else the user's first membership), checks user, revocation and membership in one query, and
 * returns plain values: the use case never sees the request. The first failure is thrown as its
 * JSON envelope (audited when it is a refusal). Pages use `requirePageContext`, the same step
 * over the session cookie only, which redirects to /login when nobody is signed in.
 */
export type AuthVia = 'bearer' | 'session'

export interface ApiContext {
  userId: string
  tenantId: string
  role: Role
  via: AuthVia
  /** The Bearer token's jti, when it has one. */
  jti?: string
  /** Who the use case records as acting (`user:<id>`). */
  actor: Actor
  /** The client IP the HTTP shell saw, when it knew it (audit entries). */
  ip?: string
}

export interface GuardOptions {
  /** Owners and admins only (members get 403 FORBIDDEN_ROLE). */
  mutating: boolean
  /** The Remix load context: carries the client IP for audit entries. */
  context?: unknown
}

const BEARER = /^Bearer ([A-Za-z0-9\-_.~+/]+=*)$/i
const MUTATING_ROLES: ReadonlySet<Role> = new Set(['owner', 'admin'])

export const canMutate = (role: Role): boolean => MUTATING_ROLES.has(role)

type Credentials = 'bearer-or-session' | 'session'

// Per-request memo: a guard called by a loader and a helper shares one lookup.
const memo = new WeakMap<Request, { credentials: Credentials; caller: Promise<ApiContext> }>()

function callerOf(request: Request, credentials: Credentials, context: unknown): Promise<ApiContext> {
  const known = memo.get(request)
  if (known?.credentials === credentials) return known.caller
  const caller = identifyCaller(getServices().auth, request, { ip: clientIp(context), credentials })
  memo.set(request, { credentials, caller })
  return caller
}

export async function requireApiContext(request: Request, options: GuardOptions): Promise<ApiContext> {
  const caller = await callerOf(request, 'bearer-or-session', options.context)
  if (options.mutating && !canMutate(caller.role)) throw forbiddenRole()
  return caller
}

type Refusal = {
  action: 'authz.tenant' | 'authz.csrf'
  userId: string
  tenantId: string | null
  details: Record<string, unknown>
}

/**
 * The one step from a request to "who, for which tenant, with which role". Every refusal is
 * audited here (best effort) and thrown as its envelope.
 */
export async function identifyCaller(
  auth: AuthServices,
  request: Request,
  input: { ip: string | null; credentials: Credentials },
): Promise<ApiContext> {
  const { ip } = input
  const path = new URL(request.url).pathname.slice(0, 200)
  const refuse = async (refusal: Refusal, error: Response): Promise<never> => {
    await audit(auth, {
      actor: `user:${refusal.userId}`,
      tenantId: refusal.tenantId,
      action: refusal.action,
      outcome: 'denied',
      ip,
      details: { ...refusal.details, method: request.method, path },
    })
    throw error
  }

  // 1. The credential: a Bearer token (API clients), else the session cookie (same-origin only).
  let userId: string
  let via: AuthVia
  let jti: string | null = null
  let claimTenant: string | null = null
  let allowListed = false
  const authorization = input.credentials === 'bearer-or-session' ? request.headers.get('authorization') : null
  if (authorization !== null) {
    const match = BEARER.exec(authorization)
    const claims = match?.[1] ? await auth.verifyJwt(match[1]) : null
    if (!claims) throw unauthenticated()
    userId = claims.sub
    jti = claims.jti
    claimTenant = claims.tenantId
    allowListed = claims.issuedByApp
    via = 'bearer'
  } else {
    const session = await getLiveSession(auth.sessions, request)
    if (!session) throw unauthenticated()
    if (!isSameOriginRequest(request, appOrigin(request, auth.env.PUBLIC_URL))) {
      return refuse({ action: 'authz.csrf', userId: session.userId, tenantId: null, details: {} }, csrfRejected())
    }
    userId = session.userId
    via = 'session'
  }

  // 2. The tenant. A malformed X-Tenant (including two values, which arrive joined by ", ") is
  //    a 400; a token bound to a tenant cannot be pointed at another one. Pages (sessions only)
  //    read no X-Tenant: their tenant is the user's first membership.
  const header = input.credentials === 'bearer-or-session' ? request.headers.get('x-tenant') : null
  if (header !== null && !TENANT_ID_PATTERN.test(header)) {
    throw invalidRequest('api.header.tenant', [{ path: 'X-Tenant', key: 'api.issue.tenant' }])
  }
  const requested = header ?? claimTenant
  const tenantRefusal = (tenantId: string | null, reason: string) =>
    refuse({ action: 'authz.tenant', userId, tenantId, details: { via, reason } }, tenantForbidden())
  if (header !== null && claimTenant !== null && header !== claimTenant) return tenantRefusal(header, 'token_tenant_mismatch')

  // 3. One query: user exists, jti not revoked, membership in the requested (or first) tenant.
  //    An app token (HS256) must also be one the app recorded for this user (allow-list).
  const facts = await auth.resolver.resolve({ userId, tenantId: requested, jti })
  if (!facts.userExists || facts.revoked) throw unauthenticated()
  if (allowListed && facts.tokenTenantId === null) throw unauthenticated()
  if (!facts.membership) return tenantRefusal(requested, requested ? 'not_a_member' : 'no_membership')
  if (facts.tokenTenantId !== null && facts.tokenTenantId !== facts.membership.tenantId) {
    return tenantRefusal(facts.membership.tenantId, 'token_tenant_mismatch')
  }
  if (jti && facts.tokenTenantId !== null) {
    // The token store's cache marks the token used at once, so a burst of requests touches once.
    const stale = !facts.tokenLastUsedAt || Date.now() - facts.tokenLastUsedAt.getTime() > API_TOKEN_TOUCH_INTERVAL_SECONDS * 1000
    if (stale) void auth.apiTokens.touch(jti).catch(() => {})
  }
  return {
    userId,
    tenantId: facts.membership.tenantId,
    role: facts.membership.role,
    via,
    ...(jti ? { jti } : {}),
    actor: { kind: 'user', userId },
    ...(ip ? { ip } : {}),
  }
}

// ---------------------------------------------------------------------------------------------
// Pages

/** A page's caller: `identifyCaller`'s answer, and whether the role may change things. */
export interface PageContext extends ApiContext {
  canMutate: boolean
}

export interface PageUser {
  userId: string
  email: string
  name: string
}

/**
 * A page's caller, through the same step as the API (`identifyCaller`) over the session cookie
 * only: no Bearer token and no X-Tenant (the tenant is the user's first membership; pages have no
 * tenant switch). The one place a page turns "not signed in" (no session, an expired or revoked
 * one, a deleted user) into a redirect to /login?redirectTo=<this page>. Every other refusal is
 * the API's, audited the same way: CSRF_REJECTED for a cross-site unsafe method,
 * TENANT_FORBIDDEN without a membership, FORBIDDEN_ROLE for a member when `mutating`.
 */
export async function requirePageContext(
  request: Request,
  options: { mutating?: boolean; context?: unknown } = {},
): Promise<PageContext> {
  let caller: ApiContext
  try {
    caller = await callerOf(request, 'session', options.context)
  } catch (e) {
    if (e instanceof Response && e.status === 401) throw redirect(loginUrl(request))
    throw e
  }
  if (options.mutating && !canMutate(caller.role)) throw forbiddenRole()
  return { ...caller, canMutate: canMutate(caller.role) }
}

/** The signed-in user's e-mail and name (the settings shell shows them). */
export async function pageUser(request: Request, ctx: PageContext): Promise<PageUser> {
  const user = await getServices().auth.users.findById(ctx.userId)
  if (!user) throw redirect(loginUrl(request))
  return { userId: user.id, email: user.email, name: user.name }
}

/**
 * The signed-in user, if any, without a tenant (no redirect, no refusal): for /login, which
 * sends a signed-in visitor on. Not a guard: nothing is allowed on its answer.
 */
export async function optionalUser(request: Request): Promise<PageUser | null> {
  const auth = getServices().auth
  const session = await getLiveSession(auth.sessions, request)
  const user = session ? await auth.users.findById(session.userId) : null
  return user ? { userId: user.id, email: user.email, name: user.name } : null
}
