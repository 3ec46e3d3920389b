import { sql, type Kysely } from 'kysely'
import type { Database } from '../../db/schema'
import type { AccountStore, RoleChange } from '../../domain/ports/account-store'
import type { Role } from '../../domain/ports/user-directory'

/** `users` and `memberships` writes; the api_tokens trigger tells running processes of revocations. */
export class KyselyAccountStore implements AccountStore {
  constructor(private readonly db: Kysely<Database>) {}

  async createUser(input: { email: string; name: string; passwordHash: string }): Promise<{ id: string } | null> {
    const row = await this.db
      .insertInto('users')
      .values({ email: input.email, name: input.name, password_hash: input.passwordHash })
      .onConflict((oc) => oc.column('email').doNothing())
      .returning('id')
      .executeTakeFirst()
    return row ?? null
  }

  async addMembership(input: { tenantId: string; userId: string; role: Role }): Promise<boolean> {
    const row = await this.db
      .insertInto('memberships')
      .values({ tenant_id: input.tenantId, user_id: input.userId, role: input.role })
      .onConflict((oc) => oc.columns(['tenant_id', 'user_id']).doNothing())
      .returning('role')
      .executeTakeFirst()
    return row !== undefined
  }

  async setRole(input: { tenantId: string; userId: string; role: Role }): Promise<RoleChange> {
    return this.db.transaction().execute(async (trx): Promise<RoleChange> => {
      const current = await trx
        .selectFrom('memberships')
        .select('role')
        .where('tenant_id', '=', input.tenantId)
        .where('user_id', '=', input.userId)
        .forUpdate()
        .executeTakeFirst()
      if (!current) return { kind: 'not_member' }
      if (current.role === input.role) return { kind: 'same' }
      if (current.role === 'owner') {
        const owners = await trx
          .selectFrom('memberships')
          .select('user_id')
          .where('tenant_id', '=', input.tenantId)
          .where('role', '=', 'owner')
          .forUpdate()
          .execute()
        if (owners.length <= 1) return { kind: 'last_owner' }
      }
      await trx
        .updateTable('memberships')
        .set({ role: input.role })
        .where('tenant_id', '=', input.tenantId)
        .where('user_id', '=', input.userId)
        .execute()
      return { kind: 'changed', from: current.role }
    })
  }

  async resetPassword(userId: string, passwordHash: string): Promise<{ sessions: number; tokens: number }> {
    return this.db.transaction().execute(async (trx) => {
      await trx.updateTable('users').set({ password_hash: passwordHash }).where('id', '=', userId).execute()
      const revokeAll = async (table: 'sessions' | 'api_tokens') => {
        const result = await trx
          .updateTable(table)
          .set({ revoked_at: sql<Date>`now()` })
          .where('user_id', '=', userId)
          .where('revoked_at', 'is', null)
          .executeTakeFirst()
        return Number(result.numUpdatedRows)
      }
      return { sessions: await revokeAll('sessions'), tokens: await revokeAll('api_tokens') }
    })
  }
}
