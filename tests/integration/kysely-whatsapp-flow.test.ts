import { describe, expect, it } from 'vitest'
import { KyselyAuditLog } from '../../adapters/kysely/kysely-audit-log'
import { KyselyConnectionRepository } from '../../adapters/kysely/kysely-connection-repository'
import { KyselyFeatureStore } from '../../adapters/kysely/kysely-feature-store'
import { KyselyInstanceAllocator } from '../../adapters/kysely/kysely-instance-allocator'
import { KyselyRateLimiter } from '../../adapters/kysely/kysely-rate-limiter'
import { PgStatusPublisher } from '../../adapters/kysely/pg-status-publisher'
import { createTestWorld } from '../../domain/testing/test-deps'
import {
  INSTANCE_TOKEN_LOCATION,
  WEBHOOK_TOKEN_LOCATION,
  applyProviderEvent,
  disconnect,
  generateQr,
  getConnectionStatus,
  sendTestMessage,
} from '../../domain/whatsapp'
import { createInstance, createTenant } from '../factories'
import { testDb } from '../utils/db'

const actor = { kind: 'user', userId: 'flow-user' } as const

/** The domain use cases on the real Kysely adapters; only Green-API, the vault and time are fakes. */
async function world(mode: 'pool' | 'shared' = 'pool') {
  const w = createTestWorld({ instanceMode: mode })
  const db = testDb()
  const deps = {
    ...w.deps,
    features: new KyselyFeatureStore(db),
    connections: new KyselyConnectionRepository(db),
    instances: new KyselyInstanceAllocator(db),
    audit: new KyselyAuditLog(db),
    rateLimiter: new KyselyRateLimiter(db),
    publisher: new PgStatusPublisher(db),
  }
  const tenant = await createTenant({ whatsappEnabled: true })
  const inst = await createInstance({ mode, encryptedToken: w.vault.encrypt('flow-secret', INSTANCE_TOKEN_LOCATION) })
  w.provider.addInstance(inst.id, 'flow-secret')
  if (mode === 'shared') deps.config = { ...deps.config, sharedInstanceId: inst.id }
  return { w, deps, tenant, inst }
}

describe('WhatsApp flow on PostgreSQL', () => {
  it('generate → webhook → status → test send → disconnect', async () => {
    const { w, deps, tenant, inst } = await world()
    const qr = await generateQr(deps, { tenantId: tenant.id, actor, publicUrl: 'https://crm.test' })
    expect(qr.qrCode).toMatch(/^data:image\/png;base64,/)

    const stored = await deps.instances.findById(inst.id)
    const token = w.vault.decrypt(stored?.encryptedWebhookToken ?? '', WEBHOOK_TOKEN_LOCATION)
    w.provider.setState(inst.id, 'authorized', '+33612345678')
    const event = {
      typeWebhook: 'stateInstanceChanged',
      instanceData: { idInstance: Number(inst.id), wid: '33612345678@c.us' },
      // The use cases' (manual) clock, not the machine's: event times are bounded around it.
      timestamp: Math.floor(w.clock.now().getTime() / 1000),
      stateInstance: 'authorized',
    }
    await expect(
      applyProviderEvent(deps, { instanceId: inst.id, authorizationHeader: 'Bearer wrong', event }),
    ).rejects.toMatchObject({
      code: 'WEBHOOK_UNAUTHORIZED',
    })
    expect(await applyProviderEvent(deps, { instanceId: inst.id, authorizationHeader: `Bearer ${token}`, event })).toEqual({
      applied: true,
      outcome: 'changed',
    })

    // The webhook made the state fresh: no upstream poll needed within the interval.
    const polls = w.provider.count('getState')
    expect(await getConnectionStatus(deps, { tenantId: tenant.id })).toMatchObject({
      connected: true,
      status: 'authorized',
      account: { phone: '+33612345678' },
    })
    expect(w.provider.count('getState')).toBe(polls)

    expect((await sendTestMessage(deps, { tenantId: tenant.id, actor, message: 'Bonjour' })).messageId).toBeTruthy()
    expect(await disconnect(deps, { tenantId: tenant.id, actor })).toEqual({ alreadyDisconnected: false })
    expect(await disconnect(deps, { tenantId: tenant.id, actor })).toEqual({ alreadyDisconnected: true })
    expect((await deps.instances.findById(inst.id))?.tenantId).toBeNull()

    const db = testDb()
    const events = await db
      .selectFrom('wa_status_events')
      .select(['to_status', 'source'])
      .where('tenant_id', '=', tenant.id)
      .orderBy('id')
      .execute()
    expect(events).toEqual([
      { to_status: 'notAuthorized', source: 'link' },
      { to_status: 'authorized', source: 'webhook' },
      { to_status: 'notAuthorized', source: 'disconnect' },
    ])
    const audit = await db
      .selectFrom('audit_log')
      .select(['action', 'outcome', 'details'])
      .where('tenant_id', '=', tenant.id)
      .orderBy('id')
      .execute()
    expect(audit.map((a) => `${a.action}:${a.outcome}`)).toEqual([
      'whatsapp.link.qr:success',
      'whatsapp.test_message:success',
      'whatsapp.disconnect:success',
      'whatsapp.disconnect:success',
    ])
    expect(JSON.stringify(audit)).not.toContain('flow-secret')
    expect(JSON.stringify(audit)).not.toContain(token)
  })

  it('shared mode: a second tenant gets INSTANCE_BUSY; the rate limit holds in SQL', async () => {
    const { deps, tenant } = await world('shared')
    await generateQr(deps, { tenantId: tenant.id, actor, publicUrl: 'https://crm.test' })
    const other = await createTenant({ whatsappEnabled: true })
    await expect(generateQr(deps, { tenantId: other.id, actor, publicUrl: 'https://crm.test' })).rejects.toMatchObject({
      code: 'INSTANCE_BUSY',
    })
    for (let i = 0; i < 9; i++) await generateQr(deps, { tenantId: tenant.id, actor, publicUrl: 'https://crm.test' })
    await expect(generateQr(deps, { tenantId: tenant.id, actor, publicUrl: 'https://crm.test' })).rejects.toMatchObject({
      code: 'RATE_LIMITED',
    })
  })

  it('a disabled tenant never reaches Green-API', async () => {
    const { w, deps } = await world()
    const blocked = await createTenant({ whatsappEnabled: false })
    await expect(generateQr(deps, { tenantId: blocked.id, actor, publicUrl: 'https://crm.test' })).rejects.toMatchObject({
      code: 'WHATSAPP_DISABLED',
    })
    expect(w.provider.count()).toBe(0)
  })
})
