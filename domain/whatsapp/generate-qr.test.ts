import { describe, expect, it } from 'vitest'
import { createTestWorld } from '../testing/test-deps'
import { generateQr } from './generate-qr'
import { INSTANCE_TOKEN_LOCATION, configLocation, WEBHOOK_TOKEN_LOCATION } from './use-case-helpers'
import { UpstreamAuthError, UpstreamUnavailableError } from './whatsapp.errors'

const actor = { kind: 'user', userId: 'u-1' } as const
const input = { tenantId: 'acme', actor, publicUrl: 'https://crm.example.test/', ip: '10.0.0.9' }

describe('generateQr', () => {
  it('claims an instance, configures the webhook once, stores credentials encrypted, returns a data URL', async () => {
    const w = createTestWorld()
    const { token } = w.addInstance('1101000001')
    const r = await generateQr(w.deps, input)
    expect(r.qrCode).toMatch(/^data:image\/png;base64,/)
    expect(r.expiresAt).toEqual(new Date(w.clock.now().getTime() + 20_000))
    expect(r.linkExpiresAt).toEqual(new Date(w.clock.now().getTime() + 5 * 60_000))

    const inst = w.instances.rows.get('1101000001')
    expect(inst?.tenantId).toBe('acme')
    const webhook = w.provider.instances.get('1101000001')?.webhook
    expect(webhook?.webhookUrl).toBe('https://crm.example.test/api/wa/webhooks/green-api/1101000001')
    expect(w.vault.decrypt(inst?.encryptedWebhookToken ?? '', WEBHOOK_TOKEN_LOCATION)).toBe(webhook?.webhookToken)

    const row = w.connections.rows.get('acme')
    expect(row).toMatchObject({ status: 'notAuthorized', instanceId: '1101000001', linkExpiresAt: r.linkExpiresAt })
    expect(JSON.parse(w.vault.decrypt(row?.encryptedConfig ?? '', configLocation('acme')))).toEqual({
      instanceId: '1101000001',
      apiToken: token,
      apiUrl: inst?.apiUrl,
    })
    expect(w.connections.timeline.map((e) => `${e.from}->${e.to}:${e.source}`)).toEqual(['null->notAuthorized:link'])
    expect(w.audit.entries).toHaveLength(1)
    expect(w.audit.entries[0]).toMatchObject({
      actor: 'user:u-1',
      action: 'whatsapp.link.qr',
      outcome: 'success',
      ip: '10.0.0.9',
    })
    // No secret in the audit trail or the logs.
    const trail = JSON.stringify(w.audit.entries) + w.logger.text()
    expect(trail).not.toContain(token)
    expect(trail).not.toContain(webhook?.webhookToken)
  })

  it('a second generate reuses the claim and the webhook and refreshes the link attempt', async () => {
    const w = createTestWorld()
    w.addInstance('1101000001')
    w.addInstance('1101000002')
    await generateQr(w.deps, input)
    w.clock.advance(60_000)
    const r2 = await generateQr(w.deps, input)
    expect(w.provider.count('configureWebhook')).toBe(1)
    expect(w.instances.rows.get('1101000002')?.tenantId).toBeNull()
    expect(w.connections.rows.get('acme')?.linkExpiresAt).toEqual(r2.linkExpiresAt)
    expect(w.connections.timeline).toHaveLength(1)
  })

  it('feature gate: a disabled tenant gets WHATSAPP_DISABLED and Green-API is never called', async () => {
    const w = createTestWorld()
    w.addInstance('1101000001')
    w.features.setFlags('blocked', { whatsapp_enabled: false })
    await expect(generateQr(w.deps, { ...input, tenantId: 'blocked' })).rejects.toMatchObject({ code: 'WHATSAPP_DISABLED' })
    expect(w.provider.count()).toBe(0)
    expect(w.instances.rows.get('1101000001')?.tenantId).toBeNull()
    expect(w.audit.entries[0]).toMatchObject({ outcome: 'denied', details: { error: 'WHATSAPP_DISABLED' } })
  })

  it('already authorized → ALREADY_CONNECTED without an upstream call', async () => {
    const w = createTestWorld()
    w.addInstance('1101000001')
    await generateQr(w.deps, input)
    await w.connections.applyStatus('acme', {
      status: 'authorized',
      account: { phone: '+33612345678' },
      checkedAt: w.clock.now(),
      source: 'poll',
    })
    const before = w.provider.count()
    await expect(generateQr(w.deps, input)).rejects.toMatchObject({ code: 'ALREADY_CONNECTED' })
    expect(w.provider.count()).toBe(before)
    expect(w.audit.entries.at(-1)).toMatchObject({ outcome: 'failure', details: { error: 'ALREADY_CONNECTED' } })
  })

  it('upstream alreadyLogged → records authorized with the phone, publishes, throws ALREADY_CONNECTED', async () => {
    const w = createTestWorld()
    w.addInstance('1101000001')
    w.provider.setState('1101000001', 'authorized', '+33612345678')
    await expect(generateQr(w.deps, input)).rejects.toMatchObject({ code: 'ALREADY_CONNECTED' })
    expect(w.connections.rows.get('acme')).toMatchObject({
      status: 'authorized',
      isActive: true,
      account: { phone: '+33612345678' },
      linkExpiresAt: null,
    })
    expect(w.publisher.published).toEqual([
      { tenantId: 'acme', connected: true, status: 'authorized', account: { phone: '+33612345678' }, checkedAt: w.clock.now() },
    ])
    expect(w.connections.timeline.map((e) => e.source)).toEqual(['link', 'link'])
  })

  it('alreadyLogged with a failing phone lookup still records authorized (phone unknown)', async () => {
    const w = createTestWorld()
    w.addInstance('1101000001')
    w.provider.setState('1101000001', 'authorized', '+33612345678')
    w.provider.failNext('getLinkedAccount', new UpstreamUnavailableError('down'))
    await expect(generateQr(w.deps, input)).rejects.toMatchObject({ code: 'ALREADY_CONNECTED' })
    expect(w.connections.rows.get('acme')).toMatchObject({ status: 'authorized', account: null })
  })

  it('rate limit: 10 per minute per tenant, then RATE_LIMITED with Retry-After', async () => {
    const w = createTestWorld()
    w.addInstance('1101000001')
    for (let i = 0; i < 10; i++) await generateQr(w.deps, input)
    const err = await generateQr(w.deps, input).catch((e: unknown) => e)
    expect(err).toMatchObject({ code: 'RATE_LIMITED' })
    expect((err as { retryAfterSeconds: number }).retryAfterSeconds).toBeGreaterThanOrEqual(1)
    expect(w.provider.count('requestQr')).toBe(10)
    w.clock.advance(60_000)
    await expect(generateQr(w.deps, input)).resolves.toBeDefined()
  })

  it('no free instance → NO_INSTANCE_AVAILABLE', async () => {
    const w = createTestWorld()
    await expect(generateQr(w.deps, input)).rejects.toMatchObject({ code: 'NO_INSTANCE_AVAILABLE' })
    expect(w.connections.rows.size).toBe(0)
  })

  it('a QR error answer → UPSTREAM_UNAVAILABLE, upstream message only in the log', async () => {
    const w = createTestWorld()
    w.addInstance('1101000001')
    w.provider.setQrError('1101000001', 'instance is starting')
    const err = await generateQr(w.deps, input).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(UpstreamUnavailableError)
    expect((err as Error).message).not.toContain('starting')
    expect(w.logger.lines.some((l) => l.obj.upstreamMessage === 'instance is starting')).toBe(true)
  })

  it('upstream errors propagate (auth)', async () => {
    const w = createTestWorld()
    w.addInstance('1101000001')
    w.provider.failNext('requestQr', new UpstreamAuthError())
    await expect(generateQr(w.deps, input)).rejects.toMatchObject({ code: 'UPSTREAM_AUTH' })
  })

  it('webhook configuration failure does not block linking; it is retried on the next attempt', async () => {
    const w = createTestWorld()
    w.addInstance('1101000001')
    w.provider.failNext('configureWebhook', new UpstreamUnavailableError('down'))
    await expect(generateQr(w.deps, input)).resolves.toBeDefined()
    expect(w.instances.rows.get('1101000001')?.encryptedWebhookToken).toBeNull()
    await generateQr(w.deps, input)
    expect(w.provider.count('configureWebhook')).toBe(2)
    expect(w.instances.rows.get('1101000001')?.encryptedWebhookToken).not.toBeNull()
  })

  it('an undecryptable instance token → CREDENTIALS_UNREADABLE', async () => {
    const w = createTestWorld()
    w.instances.add('1101000001', 'simulator', w.vault.encrypt('tok', { ...INSTANCE_TOKEN_LOCATION, tenantId: 'other' }))
    await expect(generateQr(w.deps, input)).rejects.toMatchObject({ code: 'CREDENTIALS_UNREADABLE' })
  })

  it('audit and publish failures never break the use case', async () => {
    const w = createTestWorld()
    w.addInstance('1101000001')
    w.audit.append = async () => {
      throw new Error('db down')
    }
    await expect(generateQr(w.deps, input)).resolves.toBeDefined()
    expect(w.logger.lines.some((l) => l.level === 'error' && l.msg === 'audit append failed')).toBe(true)
  })
})
