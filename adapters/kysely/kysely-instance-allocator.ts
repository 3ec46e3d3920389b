import { sql, type ExpressionBuilder, type Kysely, type Transaction } from 'kysely'
import { z } from 'zod'
import type { Database } from '../../db/schema'
import type {
  InstanceAllocator,
  InstanceRecord,
  PoolRegistration,
  RegisterInstanceInput,
} from '../../domain/ports/instance-allocator'
import { InstanceBusyError, NoInstanceAvailableError, UpstreamUnavailableError } from '../../domain/whatsapp'
import { isUniqueViolation } from './pg-errors'

const date = z.coerce.date()
const InstanceRowSchema = z.object({
  id: z.string(),
  mode: z.enum(['shared', 'pool', 'partner', 'simulator']),
  api_url: z.string(),
  encrypted_token: z.string(),
  encrypted_webhook_token: z.string().nullable(),
  tenant_id: z.string().nullable(),
  claimed_at: date.nullable(),
  needs_logout: z.boolean(),
})

function rowToInstanceRecord(raw: unknown): InstanceRecord {
  const r = InstanceRowSchema.parse(raw)
  return {
    id: r.id,
    mode: r.mode,
    apiUrl: r.api_url,
    encryptedToken: r.encrypted_token,
    encryptedWebhookToken: r.encrypted_webhook_token,
    tenantId: r.tenant_id,
    claimedAt: r.claimed_at,
    needsLogout: r.needs_logout,
  }
}

/** What a successful logout resets (the quarantine's retry bookkeeping). */
const CLEAR_QUARANTINE = { logout_failures: 0, logout_retry_at: null, logout_lease_until: null, broken_at: null }

/**
 * Claimable as far as the quarantine goes: healthy, or quarantined but neither broken nor in
 * the middle of a background logout (whose late arrival upstream could log out the new
 * claimer's freshly linked phone).
 */
function notBeingReset(w: ExpressionBuilder<Database, 'wa_instances'>, at: Date) {
  return w.or([
    w('needs_logout', '=', false),
    w.and([w('broken_at', 'is', null), w.or([w('logout_lease_until', 'is', null), w('logout_lease_until', '<=', at)])]),
  ])
}

const COLUMNS = [
  'id',
  'mode',
  'api_url',
  'encrypted_token',
  'encrypted_webhook_token',
  'tenant_id',
  'claimed_at',
  'needs_logout',
] as const

/**
 * `wa_instances`. Claims are single statements or row-locked transactions; the unique
 * `tenant_id` (one instance per tenant) and the primary key are the final word: a 23505 from a
 * race becomes "return the tenant's claim" or `InstanceBusyError`.
 */
export class KyselyInstanceAllocator implements InstanceAllocator {
  constructor(private readonly db: Kysely<Database>) {}

  async findClaimedBy(tenantId: string): Promise<InstanceRecord | null> {
    const row = await this.db.selectFrom('wa_instances').select(COLUMNS).where('tenant_id', '=', tenantId).executeTakeFirst()
    return row ? rowToInstanceRecord(row) : null
  }

  async findById(instanceId: string): Promise<InstanceRecord | null> {
    const row = await this.db.selectFrom('wa_instances').select(COLUMNS).where('id', '=', instanceId).executeTakeFirst()
    return row ? rowToInstanceRecord(row) : null
  }

  async claimById(instanceId: string, tenantId: string, at: Date): Promise<InstanceRecord> {
    return this.claimForTenant(tenantId, async (trx) => {
      const row = await trx
        .updateTable('wa_instances')
        .set({ tenant_id: tenantId, claimed_at: at })
        .where('id', '=', instanceId)
        .where('tenant_id', 'is', null)
        .where((w) => notBeingReset(w, at))
        .returning(COLUMNS)
        .executeTakeFirst()
      if (row) return rowToInstanceRecord(row)
      const exists = await trx.selectFrom('wa_instances').select('tenant_id').where('id', '=', instanceId).executeTakeFirst()
      if (!exists) throw new NoInstanceAvailableError()
      if (exists.tenant_id === null) {
        throw new UpstreamUnavailableError('The WhatsApp instance is being reset; try again shortly', { retryAfterSeconds: 5 })
      }
      throw new InstanceBusyError()
    })
  }

  async claimFirstFree(mode: 'pool' | 'simulator', tenantId: string, at: Date): Promise<InstanceRecord> {
    return this.claimForTenant(tenantId, async (trx) => {
      const row = await trx
        .updateTable('wa_instances')
        .set({ tenant_id: tenantId, claimed_at: at })
        .where('id', '=', (eb) =>
          eb
            .selectFrom('wa_instances')
            .select('id')
            .where('mode', '=', mode)
            .where('tenant_id', 'is', null)
            .where((w) => notBeingReset(w, at))
            // Healthy instances first (false sorts first): one instance Green-API cannot log out
            // must not answer 503 to everyone while others are free.
            .orderBy('needs_logout')
            .orderBy('created_at')
            .orderBy('id')
            .limit(1)
            .forUpdate()
            .skipLocked(),
        )
        .where('tenant_id', 'is', null)
        .returning(COLUMNS)
        .executeTakeFirst()
      if (row) return rowToInstanceRecord(row)
      throw new NoInstanceAvailableError()
    })
  }

  /**
   * Claims of one tenant run one at a time (transaction-scoped advisory lock on the tenant), so a
   * double click returns the first claim instead of racing for a second instance; claims of
   * different tenants still run in parallel. The tenant's existing claim always wins.
   */
  private async claimForTenant(
    tenantId: string,
    claim: (trx: Transaction<Database>) => Promise<InstanceRecord>,
  ): Promise<InstanceRecord> {
    try {
      return await this.db.transaction().execute(async (trx) => {
        await sql`SELECT pg_advisory_xact_lock(hashtext(${`wa_claim:${tenantId}`}))`.execute(trx)
        const mine = await trx.selectFrom('wa_instances').select(COLUMNS).where('tenant_id', '=', tenantId).executeTakeFirst()
        if (mine) return rowToInstanceRecord(mine)
        return claim(trx)
      })
    } catch (err) {
      // Final word of the unique tenant_id (e.g. a partner registration racing this claim).
      if (!isUniqueViolation(err)) throw err
      const raced = await this.findClaimedBy(tenantId)
      if (raced) return raced
      throw new InstanceBusyError()
    }
  }

  async registerClaimed(
    input: RegisterInstanceInput & { tenantId: string; encryptedWebhookToken: string | null; at: Date },
  ): Promise<InstanceRecord> {
    try {
      const row = await this.db
        .insertInto('wa_instances')
        .values({
          id: input.id,
          mode: input.mode,
          api_url: input.apiUrl,
          encrypted_token: input.encryptedToken,
          encrypted_webhook_token: input.encryptedWebhookToken,
          tenant_id: input.tenantId,
          claimed_at: input.at,
        })
        .returning(COLUMNS)
        .executeTakeFirstOrThrow()
      return rowToInstanceRecord(row)
    } catch (err) {
      if (isUniqueViolation(err)) throw new InstanceBusyError()
      throw err
    }
  }

  async register(input: RegisterInstanceInput): Promise<InstanceRecord> {
    const row = await this.db
      .insertInto('wa_instances')
      .values({ id: input.id, mode: input.mode, api_url: input.apiUrl, encrypted_token: input.encryptedToken })
      .onConflict((oc) =>
        oc.column('id').doUpdateSet({ mode: input.mode, api_url: input.apiUrl, encrypted_token: input.encryptedToken }),
      )
      .returning(COLUMNS)
      .executeTakeFirstOrThrow()
    return rowToInstanceRecord(row)
  }

  async registerPool(input: Omit<RegisterInstanceInput, 'mode'>, options: { replace: boolean }): Promise<PoolRegistration> {
    return this.db.transaction().execute(async (trx): Promise<PoolRegistration> => {
      const existing = await trx
        .selectFrom('wa_instances')
        .select(['mode', 'tenant_id'])
        .where('id', '=', input.id)
        .forUpdate()
        .executeTakeFirst()
      if (!existing) {
        await trx
          .insertInto('wa_instances')
          .values({ id: input.id, mode: 'pool', api_url: input.apiUrl, encrypted_token: input.encryptedToken })
          .execute()
        return { outcome: 'added' }
      }
      if (!options.replace) return { outcome: 'exists' }
      if (existing.mode !== 'pool') return { outcome: 'refused', reason: 'not_pool', mode: existing.mode }
      if (existing.tenant_id) return { outcome: 'refused', reason: 'claimed', tenantId: existing.tenant_id }
      await trx
        .updateTable('wa_instances')
        .set({ api_url: input.apiUrl, encrypted_token: input.encryptedToken })
        .where('id', '=', input.id)
        .execute()
      return { outcome: 'replaced' }
    })
  }

  async setWebhookToken(instanceId: string, tenantId: string, encryptedWebhookToken: string): Promise<void> {
    await this.db
      .updateTable('wa_instances')
      .set({ encrypted_webhook_token: encryptedWebhookToken })
      .where('id', '=', instanceId)
      .where('tenant_id', '=', tenantId)
      .execute()
  }

  async release(instanceId: string, tenantId: string, options: { needsLogout?: boolean } = {}): Promise<void> {
    await this.db
      .updateTable('wa_instances')
      .set({
        tenant_id: null,
        claimed_at: null,
        encrypted_webhook_token: null,
        state_polled_at: null,
        needs_logout: options.needsLogout ?? false,
        // A clean release ends any quarantine; a quarantined one keeps its failure count.
        ...(options.needsLogout ? {} : CLEAR_QUARANTINE),
      })
      .where('id', '=', instanceId)
      .where('tenant_id', '=', tenantId)
      .execute()
  }

  async markLoggedOut(instanceId: string, tenantId: string): Promise<void> {
    await this.db
      .updateTable('wa_instances')
      .set({ needs_logout: false, ...CLEAR_QUARANTINE })
      .where('id', '=', instanceId)
      .where('tenant_id', '=', tenantId)
      .execute()
  }

  async takeDueQuarantined(at: Date, leaseUntil: Date): Promise<InstanceRecord | null> {
    const due = (w: ExpressionBuilder<Database, 'wa_instances'>) =>
      w.and([
        w('needs_logout', '=', true),
        w('tenant_id', 'is', null),
        w('broken_at', 'is', null),
        w.or([w('logout_retry_at', 'is', null), w('logout_retry_at', '<=', at)]),
        w.or([w('logout_lease_until', 'is', null), w('logout_lease_until', '<=', at)]),
      ])
    const row = await this.db
      .updateTable('wa_instances')
      .set({ logout_lease_until: leaseUntil })
      .where('id', '=', (eb) =>
        eb
          .selectFrom('wa_instances')
          .select('id')
          .where(due)
          .orderBy('logout_retry_at', (ob) => ob.asc().nullsFirst())
          .orderBy('created_at')
          .limit(1)
          .forUpdate()
          .skipLocked(),
      )
      .where(due)
      .returning(COLUMNS)
      .executeTakeFirst()
    return row ? rowToInstanceRecord(row) : null
  }

  async recordLogoutFailure(instanceId: string): Promise<number> {
    const row = await this.db
      .updateTable('wa_instances')
      .set((eb) => ({ logout_failures: eb('logout_failures', '+', 1) }))
      .where('id', '=', instanceId)
      .returning('logout_failures')
      .executeTakeFirst()
    return row?.logout_failures ?? 0
  }

  async scheduleLogoutRetry(instanceId: string, next: { retryAt: Date } | { brokenAt: Date }): Promise<void> {
    await this.db
      .updateTable('wa_instances')
      .set({
        logout_lease_until: null,
        ...('retryAt' in next ? { logout_retry_at: next.retryAt } : { broken_at: next.brokenAt, logout_retry_at: null }),
      })
      .where('id', '=', instanceId)
      .where('needs_logout', '=', true)
      .execute()
  }

  async clearQuarantine(instanceId: string): Promise<void> {
    await this.db
      .updateTable('wa_instances')
      .set({ needs_logout: false, ...CLEAR_QUARANTINE })
      .where('id', '=', instanceId)
      .where('tenant_id', 'is', null)
      .where('needs_logout', '=', true)
      .execute()
  }

  async remove(instanceId: string, tenantId: string): Promise<void> {
    await this.db.deleteFrom('wa_instances').where('id', '=', instanceId).where('tenant_id', '=', tenantId).execute()
  }

  async tryAcquirePollLeases(instanceIds: readonly string[], minIntervalMs: number): Promise<Set<string>> {
    if (instanceIds.length === 0) return new Set()
    const result = await sql<{ id: string }>`
      UPDATE wa_instances SET state_polled_at = now()
      WHERE id = ANY(${[...new Set(instanceIds)]}::text[])
        AND (state_polled_at IS NULL OR state_polled_at <= now() - ${minIntervalMs} * interval '1 millisecond')
      RETURNING id`.execute(this.db)
    return new Set(result.rows.map((r) => r.id))
  }

  async tryAcquirePollLease(instanceId: string, minIntervalMs: number): Promise<boolean> {
    const result = await sql<{ id: string }>`
      UPDATE wa_instances SET state_polled_at = now()
      WHERE id = ${instanceId}
        AND (state_polled_at IS NULL OR state_polled_at <= now() - ${minIntervalMs} * interval '1 millisecond')
      RETURNING id`.execute(this.db)
    return result.rows.length === 1
  }
}
