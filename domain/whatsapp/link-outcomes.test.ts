import { describe, expect, it } from 'vitest'
import { createTestWorld } from '../testing/test-deps'
import { applyProviderEvent } from './apply-provider-event'
import { generateQr } from './generate-qr'
import { getConnectionStatus } from './get-connection-status'
import { refreshDueStates } from './refresh-due-states'
import { WEBHOOK_TOKEN_LOCATION } from './use-case-helpers'
import { requestPairingCode } from './request-pairing-code'

// The use cases report each link outcome themselves (`deps.linkOutcomes`), whatever the audit
// trail says: these are the counts behind wa_link_attempts_total{result}.
const actor = { kind: 'user', userId: 'u-1' } as const
const input = { tenantId: 'acme', actor, publicUrl: 'https://crm.example.test/' }

describe('link outcomes', () => {
  it('a QR, then a webhook saying the phone is linked, then a refused second QR: generated, linked, already_connected', async () => {
    const w = createTestWorld()
    w.addInstance('1101000001')
    await generateQr(w.deps, input)
    const token = w.vault.decrypt(w.instances.rows.get('1101000001')?.encryptedWebhookToken ?? '', WEBHOOK_TOKEN_LOCATION)
    const event = {
      typeWebhook: 'stateInstanceChanged',
      instanceData: { idInstance: 1101000001, wid: '33612345678@c.us', typeInstance: 'whatsapp' },
      timestamp: Math.floor(w.clock.now().getTime() / 1000),
      stateInstance: 'authorized',
    }
    await applyProviderEvent(w.deps, { instanceId: '1101000001', authorizationHeader: `Bearer ${token}`, event })
    // The same state again is no new link.
    await applyProviderEvent(w.deps, { instanceId: '1101000001', authorizationHeader: `Bearer ${token}`, event })
    await expect(generateQr(w.deps, input)).rejects.toMatchObject({ code: 'ALREADY_CONNECTED' })
    expect(w.linkOutcomes.outcomes).toEqual(['generated', 'linked', 'already_connected'])
  })

  it('Green-API answering alreadyLogged counts as already_connected, not as a new link', async () => {
    const w = createTestWorld()
    w.addInstance('1101000001')
    w.provider.setState('1101000001', 'authorized', '+33612345678')
    await expect(generateQr(w.deps, input)).rejects.toMatchObject({ code: 'ALREADY_CONNECTED' })
    expect(w.linkOutcomes.outcomes).toEqual(['already_connected'])
  })

  it('refusals by policy are denied, other failures error; an attempt that runs out is expired once', async () => {
    const w = createTestWorld({
      rateLimits: {
        generateQr: { limit: 1, windowSeconds: 60 },
        pairingCode: { limit: 5, windowSeconds: 600 },
        testSend: { limit: 5, windowSeconds: 3600 },
        reboot: { limit: 3, windowSeconds: 600 },
      },
    })
    w.addInstance('1101000001')
    w.features.setFlags('blocked', { whatsapp_enabled: false })
    await expect(generateQr(w.deps, { ...input, tenantId: 'blocked' })).rejects.toMatchObject({ code: 'WHATSAPP_DISABLED' })
    await expect(requestPairingCode(w.deps, { ...input, phoneNumber: 'not a phone' })).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
    })
    await generateQr(w.deps, input)
    await expect(generateQr(w.deps, input)).rejects.toMatchObject({ code: 'RATE_LIMITED' })
    w.clock.advance(5 * 60_000 + 1)
    // The background refresher records the expiry (polls only read): once, however many passes.
    await refreshDueStates(w.deps)
    await refreshDueStates(w.deps)
    await getConnectionStatus(w.deps, { tenantId: 'acme' })
    expect(w.linkOutcomes.outcomes).toEqual(['denied', 'error', 'generated', 'denied', 'expired'])
  })
})
