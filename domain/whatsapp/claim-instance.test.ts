import { describe, expect, it } from 'vitest'
import { createTestWorld } from '../testing/test-deps'
import { claimInstance, webhookUrlFor } from './claim-instance'
import { generateQr } from './generate-qr'
import { INSTANCE_TOKEN_LOCATION } from './use-case-helpers'
import { UpstreamUnavailableError } from './whatsapp.errors'

const actor = { kind: 'user', userId: 'u-1' } as const

describe('claimInstance', () => {
  it('pool: first free row of the mode; another tenant gets another row; none left → NO_INSTANCE_AVAILABLE', async () => {
    const w = createTestWorld({ instanceMode: 'pool' })
    w.addInstance('1', 'pool')
    w.addInstance('2', 'pool')
    w.addInstance('3', 'simulator')
    expect((await claimInstance(w.deps, 'a')).id).toBe('1')
    expect((await claimInstance(w.deps, 'a')).id).toBe('1')
    expect((await claimInstance(w.deps, 'b')).id).toBe('2')
    await expect(claimInstance(w.deps, 'c')).rejects.toMatchObject({ code: 'NO_INSTANCE_AVAILABLE' })
  })
  it('shared: one tenant at a time; missing config or row → NO_INSTANCE_AVAILABLE', async () => {
    const w = createTestWorld({ instanceMode: 'shared', sharedInstanceId: '9' })
    await expect(claimInstance(w.deps, 'a')).rejects.toMatchObject({ code: 'NO_INSTANCE_AVAILABLE' })
    w.addInstance('9', 'shared')
    expect((await claimInstance(w.deps, 'a')).id).toBe('9')
    await expect(claimInstance(w.deps, 'b')).rejects.toMatchObject({ code: 'INSTANCE_BUSY' })
    const noId = createTestWorld({ instanceMode: 'shared' })
    await expect(claimInstance(noId.deps, 'a')).rejects.toMatchObject({ code: 'NO_INSTANCE_AVAILABLE' })
  })
  it('partner: creates upstream, stores the token encrypted, configures the webhook with the new id', async () => {
    const w = createTestWorld({ instanceMode: 'partner' })
    await generateQr(w.deps, { tenantId: 'acme', actor, publicUrl: 'https://crm.example.test' })
    const id = w.partner.created[0] ?? ''
    const row = w.instances.rows.get(id)
    expect(row).toMatchObject({ mode: 'partner', tenantId: 'acme' })
    expect(w.vault.decrypt(row?.encryptedToken ?? '', INSTANCE_TOKEN_LOCATION)).toBe(`partner-secret-${id}`)
    expect(w.provider.instances.get(id)?.webhook?.webhookUrl).toBe(webhookUrlFor('https://crm.example.test', id))
    // Second claim reuses it.
    await generateQr(w.deps, { tenantId: 'acme', actor, publicUrl: 'https://crm.example.test' })
    expect(w.partner.created).toHaveLength(1)
  })
  it('partner: a failed registration deletes the fresh upstream instance', async () => {
    const w = createTestWorld({ instanceMode: 'partner' })
    w.instances.registerClaimed = async () => {
      throw new Error('db down')
    }
    await expect(claimInstance(w.deps, 'acme')).rejects.toThrow('db down')
    expect(w.partner.deleted).toEqual(w.partner.created)
    w.partner.failDelete = new UpstreamUnavailableError('down')
    await expect(claimInstance(w.deps, 'acme')).rejects.toThrow('db down')
    expect(w.logger.lines.some((l) => l.level === 'error' && l.msg.startsWith('partner instance leaked'))).toBe(true)
  })
  it('partner without a partner provider → NO_INSTANCE_AVAILABLE', async () => {
    const w = createTestWorld({ instanceMode: 'partner' })
    delete w.deps.partner
    await expect(claimInstance(w.deps, 'acme')).rejects.toMatchObject({ code: 'NO_INSTANCE_AVAILABLE' })
  })
  it('webhook URL drops trailing slashes', () => {
    expect(webhookUrlFor('https://a.test//', '12')).toBe('https://a.test/api/wa/webhooks/green-api/12')
  })
})
