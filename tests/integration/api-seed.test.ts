import { describe, expect, it } from 'vitest'
import { testDb } from '../utils/db'
import { decodeQr, eventually, useWaApp } from '../utils/wa-harness'

const h = useWaApp()

// The five "Tests de Validation" of the first version's brief, verbatim in intent, over HTTP.
describe('seed contract (the first version’s five validation tests)', () => {
  it('Test 1: GET /api/settings/features returns the three flags', async () => {
    const res = await h.api('/api/settings/features', { token: h.tokens.owner, tenant: 'macrea' })
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ whatsapp_enabled: true, sms_enabled: true, email_enabled: true })
  })

  it('Test 2: POST /api/wa/qr/generate with {} returns a PNG data URL', async () => {
    const res = await h.api('/api/wa/qr/generate', { method: 'POST', token: h.tokens.owner, tenant: 'macrea', json: {} })
    expect(res.status).toBe(200)
    const body = await res.json()
    expect(body.ok).toBe(true)
    expect(body.qrCode).toMatch(/^data:image\/png;base64,[A-Za-z0-9+/=]+$/)
    expect(new Date(body.expiresAt).getTime()).toBeGreaterThan(Date.now())
  })

  it('Test 3: GET /api/wa/qr/status answers notAuthorized before the scan, authorized after', async () => {
    const before = await h.api('/api/wa/qr/status', { token: h.tokens.owner, tenant: 'macrea' })
    expect(before.status).toBe(200)
    expect(await before.json()).toMatchObject({ connected: false, status: 'notAuthorized' })

    const gen = await (
      await h.api('/api/wa/qr/generate', { method: 'POST', token: h.tokens.owner, tenant: 'macrea', json: {} })
    ).json()
    const scanUrl = await decodeQr(gen.qrCode)
    expect(scanUrl).toContain(`${h.app.url}/dev/simulator/scan/`)
    const [instanceId, nonce] = new URL(scanUrl).pathname.split('/').slice(-2) as [string, string]
    expect(h.sim.scan(instanceId, nonce, '+33612345678').ok).toBe(true)
    await h.sim.flushWebhooks()

    const after = await eventually(async () => {
      const body = await (await h.api('/api/wa/qr/status', { token: h.tokens.owner, tenant: 'macrea' })).json()
      expect(body).toMatchObject({ connected: true, status: 'authorized', phoneNumber: '+33612345678' })
      return body
    })
    expect(after.phoneNumber).toBe('+33612345678')
    const row = await testDb()
      .selectFrom('tenant_provider_configs')
      .selectAll()
      .where('tenant_id', '=', 'macrea')
      .executeTakeFirstOrThrow()
    expect(row.connection_status).toBe('authorized')
    expect(row.is_active).toBe(true)
    expect(row.phone_number).toBe('+33612345678')
  })

  it('Test 4: POST /api/wa/disconnect answers the French message, and again on a second call', async () => {
    const first = await h.api('/api/wa/disconnect', { method: 'POST', token: h.tokens.owner, tenant: 'macrea', json: {} })
    expect(first.status).toBe(200)
    expect(await first.json()).toEqual({ ok: true, message: 'WhatsApp déconnecté avec succès' })
    const second = await h.api('/api/wa/disconnect', { method: 'POST', token: h.tokens.owner, tenant: 'macrea', json: {} })
    expect(await second.json()).toEqual({ ok: true, message: 'WhatsApp déconnecté avec succès' })
    const rows = await testDb().selectFrom('tenant_provider_configs').selectAll().where('tenant_id', '=', 'macrea').execute()
    expect(rows).toHaveLength(0)
    const status = await (await h.api('/api/wa/qr/status', { token: h.tokens.owner, tenant: 'macrea' })).json()
    expect(status).toMatchObject({ connected: false, status: 'notAuthorized' })
  })

  it('Test 5: the blocked tenant gets 403 WHATSAPP_DISABLED with upgrade_required, and Green-API is never called', async () => {
    h.sim.resetCallCounts()
    const res = await h.api('/api/wa/qr/generate', {
      method: 'POST',
      token: h.tokens.blockedOwner,
      tenant: 'test_tenant_blocked',
      json: {},
    })
    expect(res.status).toBe(403)
    const body = await res.json()
    expect(body).toMatchObject({ ok: false, error: 'WHATSAPP_DISABLED', upgrade_required: true })
    expect(typeof body.message).toBe('string')
    expect(body.message.length).toBeGreaterThan(10)
    expect(h.sim.callCount()).toBe(0)
  })

  it('English disconnect message when Accept-Language prefers English', async () => {
    const res = await h.api('/api/wa/disconnect', {
      method: 'POST',
      token: h.tokens.owner,
      tenant: 'macrea',
      json: {},
      headers: { 'accept-language': 'en-GB,en;q=0.9,fr;q=0.5' },
    })
    expect(await res.json()).toEqual({ ok: true, message: 'WhatsApp disconnected successfully' })
  })
})
