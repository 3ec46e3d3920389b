import { http, HttpResponse } from 'msw'
import { describe, expect, it } from 'vitest'
import { AesGcmCredentialVault } from '../../adapters/crypto/aes-gcm-credential-vault'
import { parseEncryptionKeys } from '../../adapters/crypto/encryption-keys'
import { INSTANCE_TOKEN_LOCATION } from '../../domain/whatsapp'
import { GREEN_API_TEST_PARTNER_URL } from '../mocks'
import { TEST_ENCRYPTION_KEYS } from '../utils/app'
import { testDb } from '../utils/db'
import { SIM_API_URL, eventually, useWaApp } from '../utils/wa-harness'

/**
 * GREENAPI_MODE=partner end to end over HTTP: the app creates one instance per tenant through
 * the (simulated) Partner API, configures its webhook, links, and deletes it on "Supprimer le numéro".
 */
describe('partner mode through the HTTP API', () => {
  const h = useWaApp({ partner: true })
  const vault = new AesGcmCredentialVault(parseEncryptionKeys({ WA_ENCRYPTION_KEYS: TEST_ENCRYPTION_KEYS }))
  const live = () => h.sim.listInstances().filter((i) => !i.deleted)

  it('generate creates an instance with its webhook; scan links; disconnect logs out and keeps it; delete-instance deletes it upstream and locally', async () => {
    expect(live()).toHaveLength(0)
    const gen = await h.api('/api/wa/qr/generate', { method: 'POST', token: h.tokens.owner, tenant: 'macrea', json: {} })
    expect(gen.status, await gen.clone().text()).toBe(200)
    expect((await gen.json()).qrCode).toMatch(/^data:image\/png;base64,/)
    expect(h.sim.callCount({ method: 'createInstance' })).toBe(1)

    const [created] = live()
    expect(created).toBeDefined()
    const row = await testDb()
      .selectFrom('wa_instances')
      .selectAll()
      .where('id', '=', created!.instanceId)
      .executeTakeFirstOrThrow()
    expect(row).toMatchObject({ mode: 'partner', tenant_id: 'macrea', api_url: SIM_API_URL })
    expect(row.encrypted_token).not.toContain(created!.apiToken)
    expect(vault.decrypt(row.encrypted_token, INSTANCE_TOKEN_LOCATION)).toBe(created!.apiToken)
    // Webhook configured for this instance, with a per-instance token stored encrypted.
    // The server's own address, never the request's Host; on loopback it says `localhost`.
    expect(created!.webhookUrl).toBe(
      `${h.app.url.replace('127.0.0.1', 'localhost')}/api/wa/webhooks/green-api/${created!.instanceId}`,
    )
    expect(created!.webhookToken.length).toBeGreaterThan(16)
    expect(row.encrypted_webhook_token).not.toBeNull()

    // A second generate reuses the tenant's instance: no second createInstance.
    const again = await h.api('/api/wa/qr/generate', { method: 'POST', token: h.tokens.owner, tenant: 'macrea', json: {} })
    expect(again.status).toBe(200)
    expect(h.sim.callCount({ method: 'createInstance' })).toBe(1)

    expect(h.sim.scan(created!.instanceId, h.sim.currentQrNonce(created!.instanceId)!, '+33612345678').ok).toBe(true)
    await h.sim.flushWebhooks()
    await eventually(async () => {
      const body = await (await h.api('/api/wa/qr/status', { token: h.tokens.owner, tenant: 'macrea' })).json()
      expect(body).toMatchObject({ connected: true, status: 'authorized', phoneNumber: '+33612345678' })
    })

    // "Déconnecter" logs the phone out and keeps the tenant's instance (decision 211)…
    const off = await h.api('/api/wa/disconnect', { method: 'POST', token: h.tokens.owner, tenant: 'macrea', json: {} })
    expect(off.status).toBe(200)
    expect(h.sim.callCount({ instanceId: created!.instanceId, method: 'logout' })).toBe(1)
    expect(h.sim.callCount({ method: 'deleteInstanceAccount' })).toBe(0)
    expect(h.sim.instance(created!.instanceId)?.deleted).toBe(false)
    // …"Supprimer le numéro" deletes it upstream and locally.
    const del = await h.api('/api/wa/delete-instance', { method: 'POST', token: h.tokens.owner, tenant: 'macrea', json: {} })
    expect(del.status).toBe(200)
    expect(h.sim.callCount({ method: 'deleteInstanceAccount' })).toBe(1)
    expect(h.sim.instance(created!.instanceId)?.deleted).toBe(true)
    expect(await testDb().selectFrom('wa_instances').select('id').execute()).toEqual([])
    expect(await testDb().selectFrom('tenant_provider_configs').select('id').execute()).toEqual([])

    // The next link attempt gets a brand-new instance.
    const next = await h.api('/api/wa/qr/generate', { method: 'POST', token: h.tokens.owner, tenant: 'macrea', json: {} })
    expect(next.status).toBe(200)
    expect(live()).toHaveLength(1)
    expect(live()[0]!.instanceId).not.toBe(created!.instanceId)
    await h.api('/api/wa/delete-instance', { method: 'POST', token: h.tokens.owner, tenant: 'macrea', json: {} })
    expect(live()).toHaveLength(0)
  })

  it('a Partner API error reported as HTTP 200 + code fails the generate cleanly: 503, no local row, no orphan', async () => {
    h.mocks.server.use(
      http.post(`${GREEN_API_TEST_PARTNER_URL}/partner/createInstance/:token`, () =>
        HttpResponse.json({ code: 500, description: 'Internal error' }),
      ),
    )
    const before = h.sim.listInstances().length
    const res = await h.api('/api/wa/qr/generate', { method: 'POST', token: h.tokens.owner, tenant: 'macrea', json: {} })
    expect(res.status).toBe(503)
    expect((await res.json()).error).toBe('UPSTREAM_UNAVAILABLE')
    expect(await testDb().selectFrom('wa_instances').select('id').execute()).toEqual([])
    expect(h.sim.listInstances()).toHaveLength(before)
  })

  it('a bad partner token (HTTP 200 + code 401) is an upstream failure, not a crash, and leaks nothing', async () => {
    h.mocks.server.use(
      http.post(`${GREEN_API_TEST_PARTNER_URL}/partner/createInstance/:token`, () =>
        HttpResponse.json({ code: 401, description: 'Unauthorized' }),
      ),
    )
    const res = await h.api('/api/wa/qr/generate', { method: 'POST', token: h.tokens.owner, tenant: 'macrea', json: {} })
    expect(res.status).toBeGreaterThanOrEqual(500)
    const text = await res.text()
    expect(text).not.toContain(h.sim.partnerToken)
    expect(await testDb().selectFrom('wa_instances').select('id').execute()).toEqual([])
  })
})
