import type { Kysely } from 'kysely'
import { z } from 'zod'
import type { Database } from '../../db/schema'
import type { FeatureFlags, FeatureStore, HandleUpgradeOutcome, UpgradeRequestOutcome } from '../../domain/ports/feature-store'

const FlagsRowSchema = z.object({
  whatsapp_enabled: z.boolean(),
  sms_enabled: z.boolean(),
  email_enabled: z.boolean(),
})

function rowToFeatureFlags(raw: unknown): FeatureFlags {
  const row = FlagsRowSchema.parse(raw)
  return { whatsapp_enabled: row.whatsapp_enabled, sms_enabled: row.sms_enabled, email_enabled: row.email_enabled }
}

/** `tenant_features` + `upgrade_requests`. */
export class KyselyFeatureStore implements FeatureStore {
  constructor(private readonly db: Kysely<Database>) {}

  async getFlags(tenantId: string): Promise<FeatureFlags | null> {
    const row = await this.db
      .selectFrom('tenant_features')
      .select(['whatsapp_enabled', 'sms_enabled', 'email_enabled'])
      .where('tenant_id', '=', tenantId)
      .executeTakeFirst()
    return row ? rowToFeatureFlags(row) : null
  }

  async recordUpgradeRequest(input: {
    tenantId: string
    feature: 'whatsapp'
    requestedBy: string | null
  }): Promise<UpgradeRequestOutcome> {
    // The partial unique index (tenant_id, feature) WHERE handled_at IS NULL makes this idempotent.
    const inserted = await this.db
      .insertInto('upgrade_requests')
      .values({ tenant_id: input.tenantId, feature: input.feature, requested_by: input.requestedBy })
      .onConflict((oc) => oc.columns(['tenant_id', 'feature']).where('handled_at', 'is', null).doNothing())
      .returning('id')
      .executeTakeFirst()
    return inserted ? 'recorded' : 'already_pending'
  }

  async changeFlags(tenantId: string, changes: Partial<FeatureFlags>): Promise<{ before: FeatureFlags; after: FeatureFlags }> {
    return this.db.transaction().execute(async (trx) => {
      // A tenant without a row has the defaults (whatsapp off, sms/email on): create it, then lock.
      await trx
        .insertInto('tenant_features')
        .values({ tenant_id: tenantId })
        .onConflict((oc) => oc.column('tenant_id').doNothing())
        .execute()
      const before = await trx
        .selectFrom('tenant_features')
        .select(['whatsapp_enabled', 'sms_enabled', 'email_enabled'])
        .where('tenant_id', '=', tenantId)
        .forUpdate()
        .executeTakeFirstOrThrow()
      const after = await trx
        .updateTable('tenant_features')
        .set({ ...changes, updated_at: new Date() })
        .where('tenant_id', '=', tenantId)
        .returning(['whatsapp_enabled', 'sms_enabled', 'email_enabled'])
        .executeTakeFirstOrThrow()
      return { before: rowToFeatureFlags(before), after: rowToFeatureFlags(after) }
    })
  }

  async handleUpgradeRequest(id: string, options: { enable: boolean }): Promise<HandleUpgradeOutcome> {
    return this.db.transaction().execute(async (trx) => {
      const row = await trx
        .selectFrom('upgrade_requests')
        .select(['id', 'tenant_id', 'feature', 'handled_at'])
        .where('id', '=', id)
        .forUpdate()
        .executeTakeFirst()
      if (!row) return { kind: 'missing' as const }
      if (row.handled_at) return { kind: 'already_handled' as const, at: new Date(row.handled_at) }
      await trx.updateTable('upgrade_requests').set({ handled_at: new Date() }).where('id', '=', id).execute()
      if (options.enable) {
        await trx
          .insertInto('tenant_features')
          .values({ tenant_id: row.tenant_id, whatsapp_enabled: true })
          .onConflict((oc) => oc.column('tenant_id').doUpdateSet({ whatsapp_enabled: true, updated_at: new Date() }))
          .execute()
      }
      return { kind: 'handled' as const, tenantId: row.tenant_id, feature: row.feature }
    })
  }

  async whatsappEndedAt(tenantId: string): Promise<Date | null> {
    const row = await this.db
      .selectFrom('tenant_features')
      .select('whatsapp_ended_at')
      .where('tenant_id', '=', tenantId)
      .where('whatsapp_enabled', '=', false)
      .executeTakeFirst()
    return row?.whatsapp_ended_at ? new Date(row.whatsapp_ended_at) : null
  }

  async endedWhileHoldingInstance(cutoff: Date, limit: number): Promise<string[]> {
    const rows = await this.db
      .selectFrom('tenant_features as f')
      .select('f.tenant_id')
      .where('f.whatsapp_enabled', '=', false)
      .where('f.whatsapp_ended_at', '<', cutoff)
      .where((eb) =>
        eb.or([
          eb.exists(
            eb.selectFrom('tenant_provider_configs as c').select('c.tenant_id').whereRef('c.tenant_id', '=', 'f.tenant_id'),
          ),
          eb.exists(eb.selectFrom('wa_instances as i').select('i.id').whereRef('i.tenant_id', '=', 'f.tenant_id')),
        ]),
      )
      .orderBy('f.whatsapp_ended_at')
      .limit(limit)
      .execute()
    return rows.map((r) => r.tenant_id)
  }
}
