import { describe, expect, it } from 'vitest'
import { KyselyRateLimiter } from '../../adapters/kysely/kysely-rate-limiter'
import { sessionCookie } from '../utils/auth-fixtures'
import { testDb } from '../utils/db'
import { eventually, useWaApp } from '../utils/wa-harness'
import { expectError, linkByScan, newTenant, post, statusOf, type TenantActor } from './api-support'

// "Redémarrer" (issue #16, decision 210): POST /api/wa/reboot and the page's button, for an
// instance stuck in `starting` or `sleepMode`, through the simulator's Green-API `reboot`.
const h = useWaApp({ instances: 6, simulator: { rebootMs: 50 } })
const db = testDb()

/** Links a number, then leaves its instance stuck in `starting` (until something else happens). */
async function stuckInStarting(t: TenantActor, phone: string): Promise<string> {
  const instanceId = await linkByScan(h, t, phone)
  h.sim.starting(instanceId)
  await h.sim.flushWebhooks()
  await eventually(async () => expect(await statusOf(h, t)).toMatchObject({ connected: false, status: 'starting' }))
  return instanceId
}

async function auditOf(tenantId: string) {
  return db
    .selectFrom('audit_log')
    .select(['actor', 'action', 'outcome'])
    .where('tenant_id', '=', tenantId)
    .where('action', '=', 'whatsapp.reboot')
    .orderBy('id')
    .execute()
}

describe('POST /api/wa/reboot', () => {
  it('reboots an instance stuck in starting: the simulator sees the reboot and the state comes back', async () => {
    const t = await newTenant()
    const instanceId = await stuckInStarting(t, '+33610000001')
    expect(h.sim.callCount({ instanceId, method: 'reboot' })).toBe(0)

    const res = await post(h, '/api/wa/reboot', t)
    expect(res.status, await res.clone().text()).toBe(200)
    expect(await res.json()).toMatchObject({ ok: true, message: expect.any(String) })
    expect(h.sim.callCount({ instanceId, method: 'reboot' })).toBe(1)

    await h.sim.flushWebhooks()
    await eventually(async () =>
      expect(await statusOf(h, t)).toMatchObject({ connected: true, status: 'authorized', phoneNumber: '+33610000001' }),
    )
    expect(await auditOf(t.tenantId)).toEqual([{ actor: `user:${t.userId}`, action: 'whatsapp.reboot', outcome: 'success' }])
  })

  it('also in sleepMode; refuses with 409 REBOOT_NOT_NEEDED when connected, NOT_CONNECTED with no number', async () => {
    const t = await newTenant()
    await expectError(await post(h, '/api/wa/reboot', t), 409, 'NOT_CONNECTED')
    const instanceId = await linkByScan(h, t, '+33610000002')
    await expectError(await post(h, '/api/wa/reboot', t), 409, 'REBOOT_NOT_NEEDED')
    expect(h.sim.callCount({ instanceId, method: 'reboot' })).toBe(0)

    h.sim.sleepMode(instanceId)
    await h.sim.flushWebhooks()
    await eventually(async () => expect(await statusOf(h, t)).toMatchObject({ status: 'sleepMode' }))
    expect((await post(h, '/api/wa/reboot', t)).status).toBe(200)
    expect(h.sim.callCount({ instanceId, method: 'reboot' })).toBe(1)
    await h.sim.flushWebhooks()
    await eventually(async () => expect(await statusOf(h, t)).toMatchObject({ connected: true, status: 'authorized' }))
  })

  it('is for owners and admins only, gated by the add-on, and not a partner-mode delete', async () => {
    const member = await newTenant({ role: 'member' })
    await expectError(await post(h, '/api/wa/reboot', member), 403, 'FORBIDDEN_ROLE')
    const off = await newTenant({ whatsappEnabled: false })
    await expectError(await post(h, '/api/wa/reboot', off), 403, 'WHATSAPP_DISABLED')
    // Outside partner mode "Supprimer le numéro" does not exist.
    const t = await newTenant()
    await expectError(await post(h, '/api/wa/delete-instance', t), 409, 'PARTNER_MODE_ONLY')
  })

  it('is rate-limited per tenant: 429 with Retry-After, and Green-API is not called', async () => {
    const t = await newTenant()
    const instanceId = await stuckInStarting(t, '+33610000003')
    // The tenant's budget (3 per 10 min) spent, as another process would have.
    const limiter = new KyselyRateLimiter(db)
    for (let i = 0; i < 3; i++) await limiter.hit(`wa:reboot:${t.tenantId}`, 3, 600)
    const res = await post(h, '/api/wa/reboot', t)
    await expectError(res, 429, 'RATE_LIMITED')
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1)
    expect(h.sim.callCount({ instanceId, method: 'reboot' })).toBe(0)
    expect(await auditOf(t.tenantId)).toEqual([{ actor: `user:${t.userId}`, action: 'whatsapp.reboot', outcome: 'denied' }])
  })
})

describe('the settings page offers "Redémarrer" while stuck (no JavaScript)', () => {
  it('shows the button in starting, and its plain form post reboots the instance', async () => {
    const t = await newTenant()
    const cookie = await sessionCookie(db, t.userId)
    const page = (lang: string) =>
      fetch(`${h.app.url}/settings/whatsapp`, { headers: { cookie, 'accept-language': lang } }).then((r) => r.text())
    const instanceId = await linkByScan(h, t, '+33610000004')
    // Connected: no reboot offered.
    expect(await page('fr')).not.toContain('value="reboot"')

    h.sim.starting(instanceId)
    await h.sim.flushWebhooks()
    await eventually(async () => expect(await statusOf(h, t)).toMatchObject({ status: 'starting' }))
    const fr = await page('fr')
    expect(fr).toContain('name="intent" value="reboot"')
    expect(fr).toContain('Redémarrer')
    expect(await page('en')).toContain('Restart')

    const res = await fetch(`${h.app.url}/settings/whatsapp`, {
      method: 'POST',
      headers: { cookie, origin: new URL(h.app.url).origin, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ intent: 'reboot' }),
    })
    expect(res.status).toBe(200)
    expect(h.sim.callCount({ instanceId, method: 'reboot' })).toBe(1)
    await h.sim.flushWebhooks()
    await eventually(async () => expect(await statusOf(h, t)).toMatchObject({ connected: true, status: 'authorized' }))
  })
})
