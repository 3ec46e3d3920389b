import { createHash, randomBytes, randomUUID } from 'node:crypto'
import { SignJWT } from 'jose'
import type { Kysely } from 'kysely'
import type { Database } from '../../db/schema'
import { seedDemoData } from '../../db/seed'
import { APP_TOKEN_KID } from '../../app/utils/jwt.server'
import { TEST_JWT_SECRET } from './app'

/** Known demo password for auth tests (the seed's users get it). */
export const TEST_PASSWORD = 'correct-horse-battery-staple-42'

export interface SeededUsers {
  owner: string // admin@macrea.test, owner of macrea
  member: string // member@macrea.test, member of macrea
  foreignOwner: string // admin@blocked.test, owner of test_tenant_blocked
}

export async function seedAuth(db: Kysely<Database>, password = TEST_PASSWORD): Promise<SeededUsers> {
  await seedDemoData(db, password)
  const rows = await db.selectFrom('users').select(['id', 'email']).execute()
  const id = (email: string) => {
    const row = rows.find((r) => r.email === email)
    if (!row) throw new Error(`seed lacks ${email}`)
    return row.id
  }
  return { owner: id('admin@macrea.test'), member: id('member@macrea.test'), foreignOwner: id('admin@blocked.test') }
}

const enc = (s: string) => new TextEncoder().encode(s)
const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')

/** An HS256 token signed with the test app's secret (or `secret`), with `claims` as given. */
export async function signHs(
  claims: Record<string, unknown>,
  opts: { alg?: 'HS256' | 'HS384' | 'HS512'; secret?: string; expiresIn?: number | null; kid?: string } = {},
): Promise<string> {
  const now = Math.floor(Date.now() / 1000)
  const payload: Record<string, unknown> = { iat: now, ...claims }
  if (opts.expiresIn !== null && payload.exp === undefined) payload.exp = now + (opts.expiresIn ?? 600)
  return new SignJWT(payload)
    .setProtectedHeader({ alg: opts.alg ?? 'HS256', typ: 'JWT', ...(opts.kid ? { kid: opts.kid } : {}) })
    .sign(enc(opts.secret ?? TEST_JWT_SECRET))
}

/**
 * An HS256 token as the app mints them: signed with the app's `kid` (claims and options as
 * `signHs`) AND its `jti` recorded in api_tokens for `sub` — app tokens are an allow-list
 * (docs/decisions/081). The
 * row is bound to `tenant_id`, else to the user's first membership. No row when `sub` is not a
 * user (the token is refused anyway).
 */
export async function appToken(
  db: Kysely<Database>,
  claims: Record<string, unknown> & { sub: string },
  opts: Parameters<typeof signHs>[1] = {},
): Promise<string> {
  const jti = typeof claims.jti === 'string' ? claims.jti : randomUUID()
  const token = await signHs({ ...claims, jti }, { kid: APP_TOKEN_KID, ...opts })
  const isUuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(claims.sub)
  const user = isUuid ? await db.selectFrom('users').select('id').where('id', '=', claims.sub).executeTakeFirst() : undefined
  if (!user) return token
  const tenant =
    typeof claims.tenant_id === 'string'
      ? claims.tenant_id
      : (
          await db
            .selectFrom('memberships')
            .select('tenant_id')
            .where('user_id', '=', user.id)
            .orderBy('created_at')
            .orderBy('tenant_id')
            .executeTakeFirstOrThrow()
        ).tenant_id
  await db
    .insertInto('api_tokens')
    .values({ jti, tenant_id: tenant, user_id: user.id, name: 'test', expires_at: new Date(Date.now() + 3600_000) })
    .execute()
  return token
}

/** `alg: none` style tokens (no signature). */
export function unsignedToken(claims: Record<string, unknown>, alg = 'none'): string {
  return `${b64url({ alg, typ: 'JWT' })}.${b64url(claims)}.`
}

/** A valid token whose payload is then changed, keeping the original signature. */
export function tamperPayload(token: string, change: Record<string, unknown>): string {
  const [h, p, s] = token.split('.') as [string, string, string]
  const payload = JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>
  return `${h}.${b64url({ ...payload, ...change })}.${s}`
}

export function flipSignatureBit(token: string): string {
  const [h, p, s] = token.split('.') as [string, string, string]
  const sig = Buffer.from(s, 'base64url')
  sig[0] = sig[0]! ^ 0x01
  return `${h}.${p}.${sig.toString('base64url')}`
}

/** A token recorded in api_tokens (as the app mints them), so it can be revoked by jti. */
export async function recordedToken(
  db: Kysely<Database>,
  userId: string,
  tenantId: string,
  opts: { revoked?: boolean } = {},
): Promise<{ token: string; jti: string }> {
  const jti = randomUUID()
  const token = await signHs({ sub: userId, tenant_id: tenantId, jti })
  await db
    .insertInto('api_tokens')
    .values({
      jti,
      tenant_id: tenantId,
      user_id: userId,
      name: 'test',
      expires_at: new Date(Date.now() + 600_000),
      revoked_at: opts.revoked ? new Date() : null,
    })
    .execute()
  return { token, jti }
}

/** A live server-side session row; returns the Cookie header value. */
export async function sessionCookie(db: Kysely<Database>, userId: string): Promise<string> {
  const id = randomBytes(32).toString('base64url')
  await db
    .insertInto('sessions')
    .values({
      id_hash: createHash('sha256').update(id).digest('hex'),
      user_id: userId,
      expires_at: new Date(Date.now() + 3600_000),
    })
    .execute()
  return `__Host-wa_session=${id}`
}

export interface ParsedSetCookie {
  name: string
  value: string
  attributes: Record<string, string | true>
  raw: string
}

export function parseSetCookies(res: Response): ParsedSetCookie[] {
  return res.headers.getSetCookie().map((raw) => {
    const [pair = '', ...attrs] = raw.split(';')
    const eq = pair.indexOf('=')
    const attributes: Record<string, string | true> = {}
    for (const a of attrs) {
      const [k = '', ...v] = a.trim().split('=')
      attributes[k.toLowerCase()] = v.length ? v.join('=') : true
    }
    return { name: pair.slice(0, eq).trim(), value: pair.slice(eq + 1).trim(), attributes, raw }
  })
}
