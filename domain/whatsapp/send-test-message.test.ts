import { describe, expect, it } from 'vitest'
import { createTestWorld, type TestWorld } from '../testing/test-deps'
import { generateQr } from './generate-qr'
import { refreshDueStates } from './refresh-due-states'
import { sendTestMessage } from './send-test-message'
import { UpstreamUnavailableError } from './whatsapp.errors'

const actor = { kind: 'user', userId: 'u-1' } as const
/** The caller's text (the app passes the default of the user's language when none is given). */
const MESSAGE = 'Message de test envoyé depuis WhatsApp Pro'

async function connected(w: TestWorld, phone: string | null = '+33612345678'): Promise<void> {
  w.addInstance('1101000001')
  await generateQr(w.deps, { tenantId: 'acme', actor, publicUrl: 'https://crm.example.test' })
  w.provider.setState('1101000001', 'authorized', phone)
  await refreshDueStates(w.deps)
}

describe('sendTestMessage', () => {
  it('checks the live state, sends the text to the own number by default', async () => {
    const w = createTestWorld()
    await connected(w)
    const before = w.provider.count('getState')
    const r = await sendTestMessage(w.deps, { tenantId: 'acme', actor, message: MESSAGE })
    expect(r.messageId).toMatch(/^BAE5/)
    expect(w.provider.count('getState')).toBe(before + 1)
    const sent = w.provider.calls.find((c) => c.method === 'sendText')?.args as { toE164: string; text: string }
    expect(sent.toE164).toBe('+33612345678')
    expect(sent.text).toBe(MESSAGE)
    expect(w.audit.entries.at(-1)).toMatchObject({ action: 'whatsapp.test_message', outcome: 'success' })
    expect(JSON.stringify(w.audit.entries)).not.toContain(MESSAGE)
  })

  it('explicit recipient and message', async () => {
    const w = createTestWorld()
    await connected(w)
    await sendTestMessage(w.deps, { tenantId: 'acme', actor, to: '+14155552671', message: 'Bonjour' })
    expect(w.provider.calls.find((c) => c.method === 'sendText')?.args).toEqual({ toE164: '+14155552671', text: 'Bonjour' })
  })

  it('stored authorized but live notAuthorized → NOT_CONNECTED, state recorded, nothing sent', async () => {
    const w = createTestWorld()
    await connected(w)
    w.provider.setState('1101000001', 'notAuthorized', null)
    await expect(sendTestMessage(w.deps, { tenantId: 'acme', actor, message: MESSAGE })).rejects.toMatchObject({
      code: 'NOT_CONNECTED',
    })
    expect(w.provider.count('sendText')).toBe(0)
    expect(w.connections.rows.get('acme')).toMatchObject({ status: 'notAuthorized', account: null, isActive: false })
    expect(w.publisher.published.at(-1)?.connected).toBe(false)
  })

  it('live state yellowCard → NOT_CONNECTED and recorded', async () => {
    const w = createTestWorld()
    await connected(w)
    w.provider.setState('1101000001', 'yellowCard')
    await expect(sendTestMessage(w.deps, { tenantId: 'acme', actor, message: MESSAGE })).rejects.toMatchObject({
      code: 'NOT_CONNECTED',
    })
    expect(w.connections.rows.get('acme')?.status).toBe('yellowCard')
  })

  it('no row → NOT_CONNECTED without upstream calls', async () => {
    const w = createTestWorld()
    await expect(sendTestMessage(w.deps, { tenantId: 'acme', actor, message: MESSAGE })).rejects.toMatchObject({
      code: 'NOT_CONNECTED',
    })
    expect(w.provider.count()).toBe(0)
  })

  it('disabled tenant → WHATSAPP_DISABLED, zero provider calls', async () => {
    const w = createTestWorld()
    await connected(w)
    const calls = w.provider.count()
    w.features.setFlags('acme', { whatsapp_enabled: false })
    await expect(sendTestMessage(w.deps, { tenantId: 'acme', actor, message: MESSAGE })).rejects.toMatchObject({
      code: 'WHATSAPP_DISABLED',
    })
    expect(w.provider.count()).toBe(calls)
  })

  it('invalid recipient / message → VALIDATION_FAILED', async () => {
    const w = createTestWorld()
    await connected(w)
    await expect(sendTestMessage(w.deps, { tenantId: 'acme', actor, to: '0612', message: MESSAGE })).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
    })
    await expect(sendTestMessage(w.deps, { tenantId: 'acme', actor, message: 'x'.repeat(1001) })).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
    })
    await expect(sendTestMessage(w.deps, { tenantId: 'acme', actor, message: '' })).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
    })
    expect(w.provider.count('sendText')).toBe(0)
  })

  it('rate limit 5 per hour', async () => {
    const w = createTestWorld()
    await connected(w)
    for (let i = 0; i < 5; i++) await sendTestMessage(w.deps, { tenantId: 'acme', actor, message: MESSAGE })
    await expect(sendTestMessage(w.deps, { tenantId: 'acme', actor, message: MESSAGE })).rejects.toMatchObject({
      code: 'RATE_LIMITED',
    })
    expect(w.provider.count('sendText')).toBe(5)
    expect(w.audit.entries.at(-1)?.outcome).toBe('denied')
  })

  it('unknown own number: fetched live; still unknown → VALIDATION_FAILED', async () => {
    const w = createTestWorld()
    await connected(w, null)
    await expect(sendTestMessage(w.deps, { tenantId: 'acme', actor, message: MESSAGE })).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
    })
    w.provider.setState('1101000001', 'authorized', '+33699999999')
    await sendTestMessage(w.deps, { tenantId: 'acme', actor, message: MESSAGE })
    expect(w.provider.calls.find((c) => c.method === 'sendText')?.args).toMatchObject({ toE164: '+33699999999' })
  })

  it('upstream failure while checking → UPSTREAM_UNAVAILABLE, audited as failure', async () => {
    const w = createTestWorld()
    await connected(w)
    w.provider.failNext('getState', new UpstreamUnavailableError('timeout', { retryAfterSeconds: 3 }))
    await expect(sendTestMessage(w.deps, { tenantId: 'acme', actor, message: MESSAGE })).rejects.toMatchObject({
      code: 'UPSTREAM_UNAVAILABLE',
      retryAfterSeconds: 3,
    })
    expect(w.audit.entries.at(-1)).toMatchObject({ outcome: 'failure', details: { error: 'UPSTREAM_UNAVAILABLE' } })
  })
})
