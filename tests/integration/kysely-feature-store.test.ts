import { describe, expect, it } from 'vitest'
import { KyselyFeatureStore } from '../../adapters/kysely/kysely-feature-store'
import { createTenant, createUser } from '../factories'
import { testDb } from '../utils/db'

describe('KyselyFeatureStore', () => {
  it('reads the flags of a tenant; null without a row', async () => {
    const store = new KyselyFeatureStore(testDb())
    const on = await createTenant({ whatsappEnabled: true, smsEnabled: false })
    const none = await createTenant({ withFeatures: false })
    expect(await store.getFlags(on.id)).toEqual({ whatsapp_enabled: true, sms_enabled: false, email_enabled: true })
    expect(await store.getFlags(none.id)).toBeNull()
    expect(await store.getFlags('does-not-exist')).toBeNull()
  })

  it('records one open upgrade request per tenant, a new one after it was handled', async () => {
    const db = testDb()
    const store = new KyselyFeatureStore(db)
    const tenant = await createTenant()
    const user = await createUser()
    const results = await Promise.all(
      Array.from({ length: 5 }, () =>
        store.recordUpgradeRequest({ tenantId: tenant.id, feature: 'whatsapp', requestedBy: user.id }),
      ),
    )
    expect(results.filter((r) => r === 'recorded')).toHaveLength(1)
    expect(results.filter((r) => r === 'already_pending')).toHaveLength(4)
    await db.updateTable('upgrade_requests').set({ handled_at: new Date() }).where('tenant_id', '=', tenant.id).execute()
    expect(await store.recordUpgradeRequest({ tenantId: tenant.id, feature: 'whatsapp', requestedBy: null })).toBe('recorded')
    const rows = await db
      .selectFrom('upgrade_requests')
      .select(['requested_by', 'handled_at'])
      .where('tenant_id', '=', tenant.id)
      .orderBy('id')
      .execute()
    expect(rows.map((r) => r.requested_by)).toEqual([user.id, null])
  })
})
