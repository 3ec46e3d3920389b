import { sql, type Kysely } from 'kysely'
import type { Database } from '../../db/schema'
import { API_TOKEN_TOUCH_INTERVAL_SECONDS, type ApiTokenInfo, type ApiTokenStore } from '../../domain/ports/api-token-store'
import { isUuid } from './kysely-auth-users'

export class KyselyApiTokenStore implements ApiTokenStore {
  constructor(private readonly db: Kysely<Database>) {}

  async record(input: { jti: string; tenantId: string; userId: string; name: string; expiresAt: Date }): Promise<void> {
    await this.db
      .insertInto('api_tokens')
      .values({ jti: input.jti, tenant_id: input.tenantId, user_id: input.userId, name: input.name, expires_at: input.expiresAt })
      .execute()
  }

  async list(tenantId: string): Promise<ApiTokenInfo[]> {
    const rows = await this.db
      .selectFrom('api_tokens')
      .select(['jti', 'tenant_id', 'user_id', 'name', 'created_at', 'expires_at', 'last_used_at', 'revoked_at'])
      .where('tenant_id', '=', tenantId)
      .orderBy('created_at', 'desc')
      .limit(200)
      .execute()
    return rows.map((r) => ({
      jti: r.jti,
      tenantId: r.tenant_id,
      userId: r.user_id,
      name: r.name,
      createdAt: r.created_at,
      expiresAt: r.expires_at,
      lastUsedAt: r.last_used_at,
      revokedAt: r.revoked_at,
    }))
  }

  async revoke(tenantId: string, jti: string): Promise<boolean> {
    if (!isUuid(jti)) return false
    const res = await this.db
      .updateTable('api_tokens')
      .set({ revoked_at: sql<Date>`now()` })
      .where('jti', '=', jti)
      .where('tenant_id', '=', tenantId)
      .where('revoked_at', 'is', null)
      .executeTakeFirst()
    return Number(res.numUpdatedRows) === 1
  }

  async touch(jti: string): Promise<void> {
    if (!isUuid(jti)) return
    await this.db
      .updateTable('api_tokens')
      .set({ last_used_at: sql<Date>`now()` })
      .where('jti', '=', jti)
      .where((eb) =>
        eb.or([
          eb('last_used_at', 'is', null),
          eb('last_used_at', '<', sql<Date>`now() - make_interval(secs => ${API_TOKEN_TOUCH_INTERVAL_SECONDS})`),
        ]),
      )
      .execute()
  }
}
