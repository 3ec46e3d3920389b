import { describe, expect, it } from 'vitest'
import { createTestWorld } from '../testing/test-deps'
import { requestPairingCode } from './request-pairing-code'

const actor = { kind: 'user', userId: 'u-1' } as const
const input = { tenantId: 'acme', actor, phoneNumber: '+33612345678', publicUrl: 'https://crm.example.test' }

describe('requestPairingCode', () => {
  it('claims, configures the webhook, starts the attempt and returns the code with its expiry', async () => {
    const w = createTestWorld()
    w.addInstance('1101000001')
    const r = await requestPairingCode(w.deps, input)
    expect(r).toEqual({
      code: 'ABCD-EFGH',
      expiresAt: new Date(w.clock.now().getTime() + 150_000),
      linkExpiresAt: new Date(w.clock.now().getTime() + 300_000),
    })
    expect(w.provider.calls.find((c) => c.method === 'requestPairingCode')?.args).toEqual({ phoneE164: '+33612345678' })
    expect(w.connections.rows.get('acme')?.status).toBe('notAuthorized')
    expect(w.provider.count('configureWebhook')).toBe(1)
    expect(JSON.stringify(w.audit.entries)).not.toContain('ABCD-EFGH')
  })
  it('disabled tenant → WHATSAPP_DISABLED, zero provider calls', async () => {
    const w = createTestWorld()
    w.addInstance('1101000001')
    await expect(requestPairingCode(w.deps, { ...input, tenantId: 'nobody' })).rejects.toMatchObject({
      code: 'WHATSAPP_DISABLED',
    })
    expect(w.provider.count()).toBe(0)
  })
  it('bad phone → VALIDATION_FAILED before any call', async () => {
    const w = createTestWorld()
    w.addInstance('1101000001')
    await expect(requestPairingCode(w.deps, { ...input, phoneNumber: '0612345678' })).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
      issues: [{ path: 'phoneNumber', message: 'must be E.164' }],
    })
    expect(w.provider.count()).toBe(0)
  })
  it('rate limit 5 per 10 minutes', async () => {
    const w = createTestWorld()
    w.addInstance('1101000001')
    for (let i = 0; i < 5; i++) await requestPairingCode(w.deps, input)
    await expect(requestPairingCode(w.deps, input)).rejects.toMatchObject({ code: 'RATE_LIMITED' })
    w.clock.advance(600_000)
    await expect(requestPairingCode(w.deps, input)).resolves.toBeDefined()
  })
  it('already connected → ALREADY_CONNECTED', async () => {
    const w = createTestWorld()
    w.addInstance('1101000001')
    await requestPairingCode(w.deps, input)
    await w.connections.applyStatus('acme', { status: 'authorized', checkedAt: w.clock.now(), source: 'webhook' })
    await expect(requestPairingCode(w.deps, input)).rejects.toMatchObject({ code: 'ALREADY_CONNECTED' })
  })
})
