import { sql, type Kysely } from 'kysely'
import { z } from 'zod'
import type { Database } from '../../db/schema'
import type {
  AuthUser,
  Membership,
  MembershipResolver,
  PrincipalResolution,
  UserCredentials,
  UserDirectory,
} from '../../domain/ports/user-directory'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
/** Ids that can be compared with a `uuid` column without a cast error. */
export const isUuid = (value: string): boolean => UUID.test(value)

const RoleSchema = z.enum(['owner', 'admin', 'member'])
const ResolutionRow = z.object({
  user_exists: z.boolean().nullable(),
  revoked: z.boolean().nullable(),
  token_tenant_id: z.string().nullable(),
  token_last_used_at: z.coerce.date().nullable(),
  tenant_id: z.string().nullable(),
  role: RoleSchema.nullable(),
})

/**
 * The guards' one query: user exists? jti recorded for this user (bound to which tenant) and
 * revoked? membership in the
 * requested tenant (or the first one)? Values that cannot be uuids are never sent as uuids (they
 * cannot match, and a cast error must not become a 500).
 */
export class KyselyMembershipResolver implements MembershipResolver {
  constructor(private readonly db: Kysely<Database>) {}

  async resolve(input: { userId: string; tenantId: string | null; jti: string | null }): Promise<PrincipalResolution> {
    const none: PrincipalResolution = {
      userExists: false,
      revoked: false,
      tokenTenantId: null,
      tokenLastUsedAt: null,
      membership: null,
    }
    if (!isUuid(input.userId)) return none
    const jti = input.jti && isUuid(input.jti) ? input.jti : null
    const { rows } = await sql<Record<string, unknown>>`
      select
        exists(select 1 from users u where u.id = ${input.userId}::uuid) as user_exists,
        t.revoked, t.token_tenant_id, t.token_last_used_at,
        m.tenant_id, m.role
      from (select 1) as one
      left join lateral (
        select a.revoked_at is not null as revoked, a.tenant_id as token_tenant_id, a.last_used_at as token_last_used_at
        from api_tokens a where a.jti = ${jti}::uuid and a.user_id = ${input.userId}::uuid
      ) t on true
      left join lateral (
        select mm.tenant_id, mm.role from memberships mm
        where mm.user_id = ${input.userId}::uuid and (${input.tenantId}::text is null or mm.tenant_id = ${input.tenantId}::text)
        order by mm.created_at, mm.tenant_id
        limit 1
      ) m on true`.execute(this.db)
    const row = ResolutionRow.parse(rows[0])
    return {
      userExists: row.user_exists === true,
      revoked: row.revoked === true,
      tokenTenantId: row.token_tenant_id,
      tokenLastUsedAt: row.token_last_used_at,
      membership: row.tenant_id && row.role ? { tenantId: row.tenant_id, role: row.role } : null,
    }
  }
}

export class KyselyUserDirectory implements UserDirectory {
  constructor(private readonly db: Kysely<Database>) {}

  async findByEmail(email: string): Promise<UserCredentials | null> {
    const row = await this.db
      .selectFrom('users')
      .select(['id', 'email', 'name', 'password_hash'])
      .where('email', '=', email)
      .executeTakeFirst()
    return row ? { id: row.id, email: row.email, name: row.name, passwordHash: row.password_hash } : null
  }

  async findById(id: string): Promise<AuthUser | null> {
    if (!isUuid(id)) return null
    const row = await this.db.selectFrom('users').select(['id', 'email', 'name']).where('id', '=', id).executeTakeFirst()
    return row ?? null
  }

  async memberships(userId: string): Promise<Membership[]> {
    if (!isUuid(userId)) return []
    const rows = await this.db
      .selectFrom('memberships')
      .select(['tenant_id', 'role'])
      .where('user_id', '=', userId)
      .orderBy('created_at')
      .orderBy('tenant_id')
      .execute()
    return rows.map((r) => ({ tenantId: r.tenant_id, role: RoleSchema.parse(r.role) }))
  }
}
