import { describe, expect, it } from 'vitest'
import { createTestWorld, type TestWorld } from '../testing/test-deps'
import { disconnect } from './disconnect'
import { deleteNumber } from './lifecycle'
import { generateQr } from './generate-qr'
import { getConnectionStatus } from './get-connection-status'
import { refreshDueStates } from './refresh-due-states'
import { UpstreamUnavailableError } from './whatsapp.errors'

const actor = { kind: 'user', userId: 'u-1' } as const

async function connect(w: TestWorld, tenantId = 'acme'): Promise<void> {
  await generateQr(w.deps, { tenantId, actor, publicUrl: 'https://crm.example.test' })
  const id = w.connections.rows.get(tenantId)?.instanceId ?? ''
  w.provider.setState(id, 'authorized', '+33612345678')
  await refreshDueStates(w.deps)
}

describe('disconnect', () => {
  it('logs out, deletes the row, releases the instance, timeline + publish + audit', async () => {
    const w = createTestWorld()
    w.addInstance('1101000001')
    await connect(w)
    const r = await disconnect(w.deps, { tenantId: 'acme', actor, ip: '10.0.0.1' })
    expect(r).toEqual({ alreadyDisconnected: false })
    expect(w.provider.count('logout')).toBe(1)
    expect(w.provider.instances.get('1101000001')?.state).toBe('notAuthorized')
    expect(w.connections.rows.has('acme')).toBe(false)
    expect(w.instances.rows.get('1101000001')).toMatchObject({ tenantId: null, encryptedWebhookToken: null })
    expect(w.connections.timeline.at(-1)).toMatchObject({ from: 'authorized', to: 'notAuthorized', source: 'disconnect' })
    expect(w.publisher.published.at(-1)).toEqual({
      tenantId: 'acme',
      connected: false,
      status: 'notAuthorized',
      checkedAt: w.clock.now(),
    })
    const { tenantId: _tenant, ...pushed } = w.publisher.published.at(-1)!
    expect(pushed).toEqual(await getConnectionStatus(w.deps, { tenantId: 'acme' }))
    expect(w.audit.entries.at(-1)).toMatchObject({ action: 'whatsapp.disconnect', outcome: 'success', details: { logout: 'ok' } })
  })

  it('is idempotent: a second call returns ok without upstream calls', async () => {
    const w = createTestWorld()
    w.addInstance('1101000001')
    await connect(w)
    await disconnect(w.deps, { tenantId: 'acme', actor })
    const calls = w.provider.count()
    expect(await disconnect(w.deps, { tenantId: 'acme', actor })).toEqual({ alreadyDisconnected: true })
    expect(w.provider.count()).toBe(calls)
    expect(await disconnect(w.deps, { tenantId: 'never', actor })).toEqual({ alreadyDisconnected: true })
  })

  it('a failed logout quarantines the instance: the next tenant never inherits the linked phone', async () => {
    const w = createTestWorld()
    w.features.setFlags('globex', { whatsapp_enabled: true })
    w.addInstance('1101000001')
    await connect(w, 'acme')
    w.provider.failNext('logout', new UpstreamUnavailableError('down'))
    await disconnect(w.deps, { tenantId: 'acme', actor })
    // Upstream the phone of acme is still linked; locally the instance is free but quarantined.
    expect(w.provider.instances.get('1101000001')?.state).toBe('authorized')
    expect(w.instances.rows.get('1101000001')).toMatchObject({ tenantId: null, needsLogout: true })

    // Green-API still down for logout: the next tenant is refused, the instance stays quarantined.
    w.provider.failNext('logout', new UpstreamUnavailableError('down'))
    await expect(generateQr(w.deps, { tenantId: 'globex', actor, publicUrl: 'https://crm.example.test' })).rejects.toMatchObject({
      code: 'UPSTREAM_UNAVAILABLE',
    })
    expect(w.instances.rows.get('1101000001')).toMatchObject({ tenantId: null, needsLogout: true })
    expect(w.connections.rows.has('globex')).toBe(false)

    // Once logout works, the next tenant gets a clean instance and a QR, not acme's session.
    const qr = await generateQr(w.deps, { tenantId: 'globex', actor, publicUrl: 'https://crm.example.test' })
    expect(qr.qrCode).toMatch(/^data:image\/png;base64,/)
    expect(w.provider.instances.get('1101000001')?.state).toBe('notAuthorized')
    expect(w.instances.rows.get('1101000001')).toMatchObject({ tenantId: 'globex', needsLogout: false })
    const status = await getConnectionStatus(w.deps, { tenantId: 'globex' })
    expect(status).toMatchObject({ connected: false, status: 'notAuthorized' })
  })

  it('a clean release needs no reset: the next claim makes no logout call', async () => {
    const w = createTestWorld()
    w.features.setFlags('globex', { whatsapp_enabled: true })
    w.addInstance('1101000001')
    await connect(w, 'acme')
    await disconnect(w.deps, { tenantId: 'acme', actor })
    expect(w.instances.rows.get('1101000001')?.needsLogout).toBe(false)
    const before = w.provider.count('logout')
    await generateQr(w.deps, { tenantId: 'globex', actor, publicUrl: 'https://crm.example.test' })
    expect(w.provider.count('logout')).toBe(before)
  })

  it('logout failure is logged and audited, not thrown; the rest still happens', async () => {
    const w = createTestWorld()
    w.addInstance('1101000001')
    await connect(w)
    w.provider.failNext('logout', new UpstreamUnavailableError('down'))
    await expect(disconnect(w.deps, { tenantId: 'acme', actor })).resolves.toEqual({ alreadyDisconnected: false })
    expect(w.connections.rows.has('acme')).toBe(false)
    expect(w.instances.rows.get('1101000001')?.tenantId).toBeNull()
    expect(w.audit.actions()).toContain('whatsapp.logout:failure')
    expect(w.audit.entries.at(-1)).toMatchObject({
      action: 'whatsapp.disconnect',
      outcome: 'success',
      details: { logout: 'failed' },
    })
    expect(w.logger.lines.some((l) => l.msg.startsWith('logout failed'))).toBe(true)
  })

  it('a leftover claim without a provider row (crash mid-disconnect) is released', async () => {
    const w = createTestWorld()
    w.addInstance('1101000001')
    await connect(w)
    await w.connections.delete('acme', w.clock.now())
    expect(await disconnect(w.deps, { tenantId: 'acme', actor })).toEqual({ alreadyDisconnected: true })
    expect(w.instances.rows.get('1101000001')?.tenantId).toBeNull()
  })

  it('shared mode: the instance is free for another tenant afterwards', async () => {
    const w = createTestWorld({ instanceMode: 'shared', sharedInstanceId: '1101000001' })
    w.addInstance('1101000001', 'shared')
    w.features.setFlags('beta', { whatsapp_enabled: true })
    await connect(w)
    await expect(generateQr(w.deps, { tenantId: 'beta', actor, publicUrl: 'https://x.test' })).rejects.toMatchObject({
      code: 'INSTANCE_BUSY',
    })
    await disconnect(w.deps, { tenantId: 'acme', actor })
    await expect(generateQr(w.deps, { tenantId: 'beta', actor, publicUrl: 'https://x.test' })).resolves.toBeDefined()
    expect(w.instances.rows.get('1101000001')?.tenantId).toBe('beta')
  })

  it('partner mode: logs out and keeps the tenant its instance (deleteNumber removes it, decision 211)', async () => {
    const w = createTestWorld({ instanceMode: 'partner' })
    await connect(w)
    const id = w.partner.created[0] ?? ''
    await disconnect(w.deps, { tenantId: 'acme', actor })
    expect(w.provider.count('logout')).toBe(1)
    expect(w.partner.deleted).toEqual([])
    expect(w.connections.rows.has('acme')).toBe(false)
    expect(w.instances.rows.get(id)).toMatchObject({ tenantId: 'acme' })
    // A second disconnect leaves it too: the leftover claim is the tenant's own instance.
    await disconnect(w.deps, { tenantId: 'acme', actor })
    expect(w.instances.rows.get(id)).toMatchObject({ tenantId: 'acme' })
  })

  it('partner mode: deleteNumber deletes upstream then locally; an upstream failure removes nothing', async () => {
    const w = createTestWorld({ instanceMode: 'partner' })
    await connect(w)
    const id = w.partner.created[0] ?? ''
    w.partner.failDelete = new UpstreamUnavailableError('down')
    await expect(deleteNumber(w.deps, { tenantId: 'acme', actor })).rejects.toMatchObject({ code: 'UPSTREAM_UNAVAILABLE' })
    expect(w.instances.rows.get(id)).toMatchObject({ tenantId: 'acme' })
    expect(w.connections.rows.has('acme')).toBe(true)
    w.partner.failDelete = null
    expect(await deleteNumber(w.deps, { tenantId: 'acme', actor })).toEqual({ alreadyDeleted: false })
    expect(w.partner.deleted).toEqual([id])
    expect(w.instances.rows.has(id)).toBe(false)
    expect(w.connections.rows.has('acme')).toBe(false)
    expect(await deleteNumber(w.deps, { tenantId: 'acme', actor })).toEqual({ alreadyDeleted: true })
  })

  it('deleteNumber outside partner mode: PARTNER_MODE_ONLY, nothing touched', async () => {
    const w = createTestWorld()
    w.addInstance('1101000001')
    await connect(w)
    await expect(deleteNumber(w.deps, { tenantId: 'acme', actor })).rejects.toMatchObject({ code: 'PARTNER_MODE_ONLY' })
    expect(w.connections.rows.has('acme')).toBe(true)
    expect(w.provider.count('logout')).toBe(0)
  })

  it('undecryptable credentials: no logout possible, still disconnects', async () => {
    const w = createTestWorld()
    w.addInstance('1101000001')
    await connect(w)
    const row = w.connections.rows.get('acme')
    if (row) w.connections.rows.set('acme', { ...row, encryptedConfig: 'garbage' })
    await disconnect(w.deps, { tenantId: 'acme', actor })
    expect(w.provider.count('logout')).toBe(0)
    expect(w.connections.rows.has('acme')).toBe(false)
    expect(w.audit.entries.find((e) => e.action === 'whatsapp.logout')?.details).toMatchObject({
      error: 'CREDENTIALS_UNREADABLE',
    })
  })
})
