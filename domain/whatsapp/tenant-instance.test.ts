import { describe, expect, it } from 'vitest'
import { createTestWorld } from '../testing/test-deps'
import { generateQr } from './generate-qr'
import { tenantInstanceId } from './tenant-instance'

const actor = { kind: 'user', userId: 'u-1' } as const

describe('tenantInstanceId', () => {
  it('is the instance the tenant holds, null for a tenant holding none', async () => {
    const w = createTestWorld()
    w.addInstance('1101000001')
    w.addInstance('1101000002')
    expect(await tenantInstanceId(w.deps, { tenantId: 'acme' })).toBeNull()
    await generateQr(w.deps, { tenantId: 'acme', actor, publicUrl: 'https://crm.example.test' })
    expect(await tenantInstanceId(w.deps, { tenantId: 'acme' })).toBe('1101000001')
    expect(await tenantInstanceId(w.deps, { tenantId: 'globex' })).toBeNull()
  })

  it('is the instance its row still names once released, until another tenant claims it', async () => {
    const w = createTestWorld()
    w.features.setFlags('globex', { whatsapp_enabled: true })
    w.addInstance('1101000001')
    await generateQr(w.deps, { tenantId: 'acme', actor, publicUrl: 'https://crm.example.test' })
    await w.instances.release('1101000001', 'acme')
    expect(await tenantInstanceId(w.deps, { tenantId: 'acme' })).toBe('1101000001')
    await w.instances.claimFirstFree('simulator', 'globex', w.clock.now())
    expect(await tenantInstanceId(w.deps, { tenantId: 'acme' })).toBeNull()
    expect(await tenantInstanceId(w.deps, { tenantId: 'globex' })).toBe('1101000001')
  })
})
