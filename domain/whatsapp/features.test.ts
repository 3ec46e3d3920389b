import { describe, expect, it } from 'vitest'
import { createTestWorld } from '../testing/test-deps'
import { getFeatures, requestUpgrade, requireWhatsAppEnabled } from './features'
import { WhatsAppDisabledError } from './whatsapp.errors'

const actor = { kind: 'user', userId: '11111111-1111-4111-8111-111111111111' } as const

describe('features', () => {
  it('returns the stored flags', async () => {
    const w = createTestWorld()
    w.features.setFlags('blocked', { whatsapp_enabled: false, sms_enabled: false })
    expect(await getFeatures(w.deps, { tenantId: 'acme' })).toEqual({
      whatsapp_enabled: true,
      sms_enabled: true,
      email_enabled: true,
    })
    expect(await getFeatures(w.deps, { tenantId: 'blocked' })).toEqual({
      whatsapp_enabled: false,
      sms_enabled: false,
      email_enabled: true,
    })
  })
  it('a tenant without a flags row gets the column defaults (WhatsApp off)', async () => {
    const w = createTestWorld()
    expect(await getFeatures(w.deps, { tenantId: 'nobody' })).toEqual({
      whatsapp_enabled: false,
      sms_enabled: true,
      email_enabled: true,
    })
  })
  it('the gate throws WhatsAppDisabledError', async () => {
    const w = createTestWorld()
    w.features.setFlags('blocked', { whatsapp_enabled: false })
    await expect(requireWhatsAppEnabled(w.deps, { tenantId: 'blocked' })).rejects.toBeInstanceOf(WhatsAppDisabledError)
    await expect(requireWhatsAppEnabled(w.deps, { tenantId: 'nobody' })).rejects.toMatchObject({ code: 'WHATSAPP_DISABLED' })
    await expect(requireWhatsAppEnabled(w.deps, { tenantId: 'acme' })).resolves.toBeUndefined()
    expect(w.provider.count()).toBe(0)
  })
  it('upgrade requests are idempotent while open and audited', async () => {
    const w = createTestWorld()
    w.features.setFlags('blocked', { whatsapp_enabled: false })
    expect(await requestUpgrade(w.deps, { tenantId: 'blocked', actor, ip: '10.0.0.1' })).toEqual({ status: 'recorded' })
    expect(await requestUpgrade(w.deps, { tenantId: 'blocked', actor })).toEqual({ status: 'already_pending' })
    expect(w.features.upgradeRequests).toHaveLength(1)
    expect(w.features.upgradeRequests[0]?.requestedBy).toBe(actor.userId)
    expect(w.audit.entries.map((e) => [e.action, e.details?.result, e.ip])).toEqual([
      ['whatsapp.upgrade_request', 'recorded', '10.0.0.1'],
      ['whatsapp.upgrade_request', 'already_pending', null],
    ])
  })
  it('upgrade of an enabled tenant records nothing; system actors have no requester', async () => {
    const w = createTestWorld()
    expect(await requestUpgrade(w.deps, { tenantId: 'acme', actor })).toEqual({ status: 'already_enabled' })
    await requestUpgrade(w.deps, { tenantId: 'other', actor: { kind: 'system', name: 'ops' } })
    expect(w.features.upgradeRequests).toEqual([{ tenantId: 'other', feature: 'whatsapp', requestedBy: null, handled: false }])
    expect(w.audit.entries.at(-1)?.actor).toBe('system:ops')
  })
})
