import { describe, expect, it } from 'vitest'
import { sessionCookie } from '../utils/auth-fixtures'
import { testDb } from '../utils/db'
import { useWaApp } from '../utils/wa-harness'
import { expectError, newTenant, post, providerRow, scanTarget } from './api-support'

// `GET /settings/whatsapp` renews an expired QR only for the page's own reloads (Sec-Fetch-Site:
// same-origin), never for a cross-site navigation (issue 13, decision 086); and a failed
// generate leaves the link attempt's clock alone. QR limit 2/min so a consumed slot shows.
const h = useWaApp({ env: { WA_RATE_LIMIT_QR: '2/60' } })

const page = (cookie: string, fetchSite: string | null) =>
  fetch(`${h.app.url}/settings/whatsapp`, {
    headers: {
      cookie,
      ...(fetchSite ? { 'sec-fetch-site': fetchSite, 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'document' } : {}),
    },
    redirect: 'manual',
  })

async function qrAudits(tenantId: string): Promise<number> {
  const rows = await testDb()
    .selectFrom('audit_log')
    .select('id')
    .where('tenant_id', '=', tenantId)
    .where('action', '=', 'whatsapp.link.qr')
    .execute()
  return rows.length
}

describe('GET /settings/whatsapp does not mutate', () => {
  it('a cross-site navigation (or none at all) writes no audit row, consumes no rate-limit slot and asks no QR; the page’s own reload renews', async () => {
    const t = await newTenant()
    const cookie = await sessionCookie(testDb(), t.userId)
    // An attempt started through the API: this process shows no QR for it yet, so the page
    // would have to renew one.
    expect((await post(h, '/api/wa/qr/generate', t)).status).toBe(200)
    const attempt = await providerRow(t.tenantId)
    expect(await qrAudits(t.tenantId)).toBe(1)
    h.sim.resetCallCounts()

    for (const fetchSite of ['cross-site', 'same-site', 'none', null, 'cross-site']) {
      const res = await page(cookie, fetchSite)
      expect(res.status, String(fetchSite)).toBe(200)
      const html = await res.text()
      expect(html).not.toContain('data:image/png;base64,')
      expect(html).toContain('Générez-en un nouveau') // the click it asks for instead
    }
    expect(await qrAudits(t.tenantId)).toBe(1)
    expect(h.sim.callCount({ method: 'qr' })).toBe(0)
    // (status_checked_at moves: the page reads the live status, which is not a mutation.)
    const link = (r: Awaited<ReturnType<typeof providerRow>>) => ({
      started: r?.link_started_at,
      expires: r?.link_expires_at,
      config: r?.encrypted_config,
    })
    expect(link(await providerRow(t.tenantId))).toEqual(link(attempt))
    // The second of two slots is still free; the third generate is refused.
    expect((await post(h, '/api/wa/qr/generate', t)).status).toBe(200)
    await expectError(await post(h, '/api/wa/qr/generate', t), 429, 'RATE_LIMITED')

    // Positive control: the page's own reload does renew (here refused by the rate limit,
    // which shows it tried: one more audit row).
    const own = await page(cookie, 'same-origin')
    expect(own.status).toBe(200)
    expect(await qrAudits(t.tenantId)).toBe(4)
  })

  it('a generate that Green-API fails leaves the attempt clock unchanged', async () => {
    const t = await newTenant()
    const first = await post(h, '/api/wa/qr/generate', t)
    expect(first.status).toBe(200)
    const { instanceId } = await scanTarget(((await first.json()) as { qrCode: string }).qrCode)
    const before = await providerRow(t.tenantId)
    expect(before?.link_started_at).toBeInstanceOf(Date)

    const stop = h.sim.fault({ instanceId, methods: ['qr'] }).down(500)
    await expectError(await post(h, '/api/wa/qr/generate', t), 503, 'UPSTREAM_UNAVAILABLE')
    stop()
    const after = await providerRow(t.tenantId)
    expect(after?.link_started_at).toEqual(before?.link_started_at)
    expect(after?.link_expires_at).toEqual(before?.link_expires_at)
  })

  it('a first generate that Green-API fails starts no attempt at all', async () => {
    const t = await newTenant()
    const stop = h.sim.fault({ methods: ['qr'] }).down(500)
    await expectError(await post(h, '/api/wa/qr/generate', t), 503, 'UPSTREAM_UNAVAILABLE')
    stop()
    expect(await providerRow(t.tenantId)).toBeUndefined()
  })
})
