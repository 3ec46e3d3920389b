import { describe, expect, it } from 'vitest'
import { sessionCookie } from '../utils/auth-fixtures'
import { testDb } from '../utils/db'
import { useWaApp } from '../utils/wa-harness'
import { askPairingCodeOnPage, newTenant, post, type TenantActor } from './api-support'

// The QR or pairing code the settings page shows belongs to one link attempt (decision 125):
// once another attempt replaced it (through the API here, or another app process), the page
// stops showing it and shows a QR of the running attempt instead.
const h = useWaApp()

async function page(t: TenantActor): Promise<string> {
  const res = await fetch(`${h.app.url}/settings/whatsapp`, {
    headers: {
      cookie: await sessionCookie(testDb(), t.userId),
      'sec-fetch-site': 'same-origin',
      'sec-fetch-mode': 'navigate',
      'sec-fetch-dest': 'document',
    },
    redirect: 'manual',
  })
  expect(res.status).toBe(200)
  return res.text()
}

async function qrAudits(tenantId: string): Promise<number> {
  const rows = await testDb()
    .selectFrom('audit_log')
    .select('id')
    .where('tenant_id', '=', tenantId)
    .where('action', '=', 'whatsapp.link.qr')
    .execute()
  return rows.length
}

describe('the settings page shows the display of the running attempt only', () => {
  it('a pairing code asked on the page is not shown once an API generate started another attempt', async () => {
    const t = await newTenant()
    await askPairingCodeOnPage(h, t)
    const withCode = await page(t)
    expect(withCode).toContain('wa-code')
    expect(withCode).not.toContain('data:image/png;base64,')

    expect((await post(h, '/api/wa/qr/generate', t)).status).toBe(200)
    const after = await page(t)
    expect(after).not.toContain('wa-code')
    expect(after).toContain('data:image/png;base64,')
    // …and that QR is the attempt's now: the next reload shows it again, renewing nothing.
    const qrOf = (html: string) => /data:image\/png;base64,[A-Za-z0-9+/=]+/.exec(html)?.[0]
    const audits = await qrAudits(t.tenantId)
    expect(qrOf(await page(t))).toBe(qrOf(after))
    expect(await qrAudits(t.tenantId)).toBe(audits)
  })
})
