import type { Kysely } from 'kysely'
import { z } from 'zod'
import type { Database } from '../../db/schema'
import type { FeatureFlags, FeatureStore, UpgradeRequestOutcome } from '../../domain/ports/feature-store'

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
}
